"""Who is asking: a signed-in person (team mode) or the local admin (local mode, CLI, Python API)."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: the principal of the local admin: the only user in local mode, and the CLI's default
LOCAL = "local"


class SignInRefused(Exception):
    """A sign-in that must not be honoured (too old, signed out since, no usable identity)."""


@dataclass(frozen=True)
class Identity:
    """A user as access checks see them: a stable subject, an optional e-mail, admin or not."""

    subject: str
    email: str | None = None
    name: str | None = None
    admin: bool = False
    #: when the identity provider issued the sign-in (unix seconds; ``None`` for the local admin)
    issued_at: float | None = None

    @property
    def principal(self) -> str:
        """How this user is recorded as owner or actor: the e-mail when known, else the subject."""
        return self.email or self.subject

    def principals(self) -> set[str]:
        """Every name a membership may be recorded under for this user."""
        return {p for p in (self.subject, self.email) if p}

    @property
    def label(self) -> str:
        return self.email or self.name or self.subject


LOCAL_ADMIN = Identity(subject=LOCAL, name="local admin", admin=True)


def named_user(name: str, admins: tuple[str, ...] = ()) -> Identity:
    """A user named on the command line (``--user alice@example.org``): e-mail or subject."""
    name = name.strip()
    if not name:
        raise ValueError("a user name must not be empty")
    if name == LOCAL:
        return LOCAL_ADMIN
    key = name.lower()
    email = key if "@" in key else None
    return Identity(subject=name, email=email, admin=key in admins or name in admins)


def from_claims(claims: Mapping[str, Any], admins: tuple[str, ...], session_hours: float,
                signed_out_at: float | None = None, now: float | None = None) -> Identity:
    """The identity in a sign-in's ID-token claims (``st.user``), or :class:`SignInRefused`.

    A sign-in is refused when it is older than ``session_hours`` (Streamlit keeps its cookie for
    30 days), when the user signed out after it was issued, or when it carries no subject.
    An e-mail the provider marks unverified is not used to match memberships.
    """
    now = time.time() if now is None else now
    subject = str(claims.get("sub") or "").strip()
    if not subject:
        raise SignInRefused("the identity provider sent no subject (sub claim)")
    try:
        issued = float(claims.get("iat") or 0)
    except (TypeError, ValueError):
        issued = 0.0
    if not issued or now - issued > session_hours * 3600:
        raise SignInRefused("your sign-in has expired; sign in again")
    if issued > now + 300:
        raise SignInRefused("your sign-in is dated in the future; sign in again")
    if signed_out_at is not None and issued <= signed_out_at:
        raise SignInRefused("you signed out since this sign-in; sign in again")
    email = claims.get("email")
    if not isinstance(email, str) or not email.strip() or claims.get("email_verified") is False:
        email = None
    else:
        email = email.strip().lower()
    name = claims.get("name")
    is_admin = subject in admins or (email is not None and email in admins)
    return Identity(subject=subject, email=email, name=name if isinstance(name, str) else None,
                    admin=is_admin, issued_at=issued)
