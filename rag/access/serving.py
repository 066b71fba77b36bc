"""Whether this configuration may be served: the checks the app and ``scripts/dev.sh app`` run first.

Local mode has no sign-in, so it serves this computer only (127.0.0.1) unless the user says
``RAG_ALLOW_REMOTE=true``. Team mode signs people in with Streamlit's ``st.login`` and refuses to
run without ``[auth]`` settings and a strong cookie secret in ``.streamlit/secrets.toml``.
"""

from __future__ import annotations

import importlib.util
import ipaddress
from collections.abc import Mapping
from typing import Any

from rag.config import Settings

#: Streamlit signs its identity cookie with the cookie secret: a short one can be guessed
MIN_COOKIE_SECRET = 32
_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")


def is_loopback(address: str | None) -> bool:
    """Whether a bind address serves this computer only (an unset address means every interface)."""
    if not address:
        return False
    if address.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def provider(auth: Mapping[str, Any]) -> str | None:
    """Which ``st.login`` provider to use: ``None`` for keys right under ``[auth]``, else the one
    ``[auth.NAME]`` table that holds them."""
    if all(auth.get(k) for k in _PROVIDER_KEYS):
        return None
    named = [k for k, v in auth.items() if isinstance(v, Mapping) and all(v.get(x) for x in _PROVIDER_KEYS)]
    return named[0] if len(named) == 1 else None


def serving_problems(settings: Settings, address: str | None, auth: Mapping[str, Any] | None) -> list[str]:
    """What forbids serving this configuration (empty: it may be served)."""
    if settings.mode == "local":
        if is_loopback(address) or settings.allow_remote:
            return []
        where = f"address {address!r}" if address else "every network interface (no server.address set)"
        return [f"Local mode has no sign-in, so it serves this computer only, but the server listens on {where}. "
                "Serve on 127.0.0.1 (--server.address 127.0.0.1), use team mode (RAG_MODE=team with sign-in), "
                "or say RAG_ALLOW_REMOTE=true to let anyone who reaches this address in without an account."]
    problems = []
    if importlib.util.find_spec("authlib") is None:
        problems.append("Team mode signs in with Streamlit's st.login, which needs Authlib: pip install -e '.[team]'.")
    if not auth:
        return problems + ["Team mode needs an [auth] section in .streamlit/secrets.toml (redirect_uri, cookie_secret, "
                "client_id, client_secret, server_metadata_url): see README, Team mode."]
    secret = str(auth.get("cookie_secret") or "")
    if not secret:
        problems.append("Team mode refuses to start without [auth] cookie_secret in .streamlit/secrets.toml "
                        "(generate one: python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    elif len(secret) < MIN_COOKIE_SECRET:
        problems.append(f"[auth] cookie_secret is {len(secret)} characters; use at least {MIN_COOKIE_SECRET} "
                        "random ones (python -c 'import secrets; print(secrets.token_urlsafe(48))').")
    if not auth.get("redirect_uri"):
        problems.append("[auth] redirect_uri is missing: this app's address + /oauth2callback.")
    missing = [k for k in _PROVIDER_KEYS if not auth.get(k)]
    if missing and provider(auth) is None:
        problems.append(f"[auth] lacks {', '.join(missing)} (from your OpenID Connect provider).")
    return problems
