"""``python -m rag.access check [streamlit options]``: refuse to start a server that must not run.

``scripts/dev.sh app`` runs this before ``streamlit run``, with the same options, so a local-mode
server never starts listening beyond loopback and a team-mode one never starts without sign-in.
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from rag.access.serving import serving_problems
from rag.config import load_settings


def _option(args: list[str], name: str) -> str | None:
    """The last ``--name value`` / ``--name=value`` among Streamlit's command-line options."""
    found = None
    for i, arg in enumerate(args):
        if arg == f"--{name}" and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith(f"--{name}="):
            found = arg.split("=", 1)[1]
    return found


def _toml(path: Path) -> dict:
    if not path.is_file():
        return {}
    with path.open("rb") as fh:
        return tomllib.load(fh)


def effective_address(args: list[str], env: dict[str, str], config: Path) -> str | None:
    """The address Streamlit will bind: command line, then environment, then .streamlit/config.toml."""
    return (_option(args, "server.address") or env.get("STREAMLIT_SERVER_ADDRESS")
            or _toml(config).get("server", {}).get("address"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] != "check":
        print("usage: python -m rag.access check [streamlit run options]", file=sys.stderr)
        return 2
    args = argv[1:]
    import os

    env = dict(os.environ)
    try:
        settings = load_settings(env)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    secrets = _toml(Path(_option(args, "secrets.files") or ".streamlit/secrets.toml"))
    for key, value in secrets.items():  # RAG_* settings may live in the secrets file too
        if key.startswith("RAG_") and isinstance(value, (str, int, float, bool)):
            env.setdefault(key, str(value).lower() if isinstance(value, bool) else str(value))
    settings = load_settings(env)
    problems = serving_problems(settings, effective_address(args, env, Path(".streamlit/config.toml")),
                                secrets.get("auth"))
    for problem in problems:
        print(f"refusing to start: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
