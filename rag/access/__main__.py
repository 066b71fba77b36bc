"""``python -m rag.access``: the start-up check, and the access catalog from a shell.

``check [streamlit options]``: ``scripts/dev.sh app`` runs it before ``streamlit run`` with the same
options, so a local-mode server never starts listening beyond loopback and a team-mode one never
starts without sign-in. ``members``, ``share``, ``unshare`` and ``audit`` (CSV on stdout) act as
``--user`` (default: RAG_USER, else the local admin) with that user's role.
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


USAGE = """usage: python -m rag.access check [streamlit run options]
       python -m rag.access [--user NAME] members COLLECTION
       python -m rag.access [--user NAME] share COLLECTION EMAIL_OR_SUBJECT reader|editor|owner
       python -m rag.access [--user NAME] unshare COLLECTION EMAIL_OR_SUBJECT
       python -m rag.access [--user NAME] audit COLLECTION   (CSV on stdout)"""


def catalog(argv: list[str]) -> int:
    """members / share / unshare / audit, checked like the app checks them."""
    from dataclasses import replace

    from rag.access import AccessDenied, Role, to_csv
    from rag.engine import Engine

    user = None
    if argv[:1] == ["--user"] and len(argv) > 1:
        user, argv = argv[1], argv[2:]
    try:
        settings = load_settings()
        if user is not None:
            settings = replace(settings, user=user)
        access = Engine(settings).access
        command, name, rest = argv[0], argv[1], argv[2:]
        if command == "members" and not rest:
            access.require(name, "read")
            for m in access.store.members(name):
                print(f"{m.principal}\t{m.role.label}\tadded by {m.added_by} at {m.added_at}")
        elif command == "share" and len(rest) == 2:
            access.share(name, rest[0], Role.parse(rest[1]))
        elif command == "unshare" and len(rest) == 1:
            access.unshare(name, rest[0])
        elif command == "audit" and not rest:
            access.require(name, "audit")
            sys.stdout.write(to_csv(access.store.audit(name)))
        else:
            print(USAGE, file=sys.stderr)
            return 2
    except (AccessDenied, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE, file=sys.stderr)
        return 2
    if argv[0] != "check":
        if len(argv) < 2:
            print(USAGE, file=sys.stderr)
            return 2
        return catalog(argv)
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
