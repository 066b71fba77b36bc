"""Who uses this browser session, checked on every run before any page draws.

``guard(settings)`` (app.py, before the navigation) refuses a configuration that must not be
served, shows the sign-in screen in team mode, and puts "signed in as … / sign out" in the
sidebar. ``bind(runtime)`` (state.runtime, which every page calls) hands pages an Engine acting
for this user, so a page cannot reach a collection its user may not read, even if it forgets
to ask.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import streamlit as st

from rag.access import LOCAL_ADMIN, AccessStore, Identity, SignInRefused, from_claims
from rag.access.serving import provider, serving_problems
from rag.config import Settings


def _auth() -> dict[str, Any] | None:
    if not st.secrets.load_if_toml_exists():
        return None
    auth = st.secrets.get("auth")
    return auth.to_dict() if hasattr(auth, "to_dict") else (dict(auth) if auth else None)


def identity(settings: Settings) -> Identity | SignInRefused | None:
    """This session's user: the local admin (local mode), the signed-in person, ``None`` when
    nobody is signed in, or why a sign-in is refused."""
    if settings.mode == "local":
        return LOCAL_ADMIN
    if not st.user.is_logged_in:
        return None
    claims = st.user.to_dict()
    store = AccessStore(settings.data_dir, settings.catalog)
    try:
        return from_claims(claims, settings.admins, settings.session_hours,
                           signed_out_at=store.signed_out_at(str(claims.get("sub") or "")))
    except SignInRefused as exc:
        return exc


def sign_out(settings: Settings, user: Identity) -> None:
    """End this sign-in everywhere (every browser holding its cookie), then Streamlit's own sign-out."""
    store = AccessStore(settings.data_dir, settings.catalog)
    store.record_sign_out(user.subject)
    store.record(user.principal, "sign-out", None)
    st.logout()


def guard(settings: Settings) -> Identity:
    """Stop the run unless it may go on: a servable configuration and, in team mode, a valid sign-in."""
    auth = _auth()
    problems = serving_problems(settings, st.get_option("server.address"), auth)
    if problems:
        st.title("Contract assistant")
        for problem in problems:
            st.error(problem)
        st.stop()
    user = identity(settings)
    if isinstance(user, Identity):
        if settings.mode == "team":
            with st.sidebar:
                st.caption(f"Signed in as {user.label}" + (" (admin)" if user.admin else ""))
                if st.button("Sign out", icon=":material/logout:", key="sign-out"):
                    sign_out(settings, user)
        return user
    st.title("Contract assistant")
    if isinstance(user, SignInRefused):
        st.warning(str(user))
        if st.button("Sign in again", type="primary", key="sign-in-again"):
            st.logout()  # clears the refused cookie; the sign-in screen follows
    else:
        st.write("This server holds confidential contracts: sign in to see the collections shared with you.")
        if st.button("Sign in", type="primary", icon=":material/login:", key="sign-in"):
            st.login(provider(auth or {}))
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises


def bind(rt: Any) -> Any:
    """The runtime with its Engine acting for this session's user (stops the page when nobody is)."""
    user = identity(rt.settings)
    if not isinstance(user, Identity):
        st.stop()
    return replace(rt, engine=rt.engine.for_user(user))


def own_name(rt: Any, base: str) -> str:
    """A collection name the app picks for this user (first upload, the samples): ``base`` in local
    mode; in team mode ``base`` plus who they are, since another user may already own ``base``."""
    if rt.settings.mode != "team" or rt.engine.user.admin:
        return base
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", rt.engine.user.principal).strip("-.")
    return f"{base}-{slug}"[:64].rstrip("-.")
