"""Per-file limits and the short reasons that bad input fails with (shared by every reader)."""

from __future__ import annotations

from rag.config import Settings

_DEFAULTS = Settings()
#: Per-file limits used when the caller passes ``None`` (the same as ``rag.config.Settings``).
DEFAULT_MAX_BYTES = int(_DEFAULTS.max_file_mb * 1024 * 1024)
DEFAULT_MAX_PAGES = _DEFAULTS.max_pages


def too_large(size: int, limit: int) -> str:
    return f"file is too large ({size / 2**20:.1f} MiB; the limit is {limit / 2**20:.1f} MiB)"


def short_reason(exc: BaseException) -> str:
    """An exception as one short line for an error message: ``Type: first line``."""
    msg = str(exc).strip().splitlines()
    text = msg[0] if msg else ""
    return f"{type(exc).__name__}: {text[:160]}" if text else type(exc).__name__
