"""Roles on a collection and what each may do: reader < editor < owner; admins own everything."""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """A member's role on one collection; a higher role may do everything a lower one may."""

    READER = 1  # search, chat, review, view the PDFs
    EDITOR = 2  # + add and delete documents
    OWNER = 3  # + share, rename, delete the collection, read its audit log

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown role {text!r}: use reader, editor or owner") from None

    @property
    def label(self) -> str:
        return self.name.lower()


#: the least role each action needs
NEEDS: dict[str, Role] = {
    "read": Role.READER,
    "edit": Role.EDITOR,
    "share": Role.OWNER,
    "rename": Role.OWNER,
    "delete": Role.OWNER,
    "audit": Role.OWNER,
}


def allows(role: Role | None, action: str) -> bool:
    """Whether ``role`` (``None``: not a member) may do ``action``."""
    if action not in NEEDS:
        raise ValueError(f"unknown action {action!r}; known: {sorted(NEEDS)}")
    return role is not None and role >= NEEDS[action]
