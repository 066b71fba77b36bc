"""The one error that ingest shows to users: which file failed and why, in one line."""

from __future__ import annotations

from pathlib import PurePath


class ExtractionError(Exception):
    """A file could not be turned into a document; nothing of it may be stored.

    ``str()`` reads like ``"contract.pdf: file is encrypted and needs a password"`` so the
    app and the CLI can show it as is, without a traceback.
    """

    def __init__(self, name: str | PurePath, reason: str) -> None:
        # A path is shown by its file name only: uploads carry display names, and a
        # server path in a user-facing message says nothing useful.
        self.name = PurePath(name).name if isinstance(name, PurePath) else str(name)
        self.reason = reason
        super().__init__(name, reason)

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"

    def __reduce__(self) -> tuple[type[ExtractionError], tuple[str, str]]:
        # Keeps the error intact across process pools (ingest may extract in workers).
        return (type(self), (self.name, self.reason))


class OcrUnavailableError(ExtractionError):
    """A file needs OCR (no text layer) but no OCR engine is installed or the one named is missing."""
