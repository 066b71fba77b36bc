"""Collection names: what is allowed, checked in one place for every backend and address."""

from __future__ import annotations

import re

from rag.store.errors import CollectionError

NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def validate_name(name: str) -> str:
    """A collection name: 1-64 of ``[A-Za-z0-9_.-]``, not starting with a dot (no ``..``, no hidden folders)."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name) or name.startswith("."):
        raise CollectionError(
            f"invalid collection name {name!r}: use 1-64 letters, digits, '_', '-' or '.', not starting with '.'"
        )
    return name


def is_name(name: str) -> bool:
    """Whether ``name`` is a valid collection name (for listing folders without raising)."""
    return bool(NAME_RE.fullmatch(name)) and not name.startswith(".")
