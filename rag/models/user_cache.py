"""Where per-machine model artefacts are kept (the dtype probe's decisions, int8 exports)."""

from __future__ import annotations

import os
from pathlib import Path


def user_cache_path(env_var: str, name: str) -> Path:
    """``$env_var`` when set, else ``$XDG_CACHE_HOME/bge-contract-rag/<name>`` (``~/.cache`` by
    default): one place for the user's cache, with one override per artefact."""
    explicit = os.environ.get(env_var)
    if explicit:
        return Path(explicit).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bge-contract-rag" / name
