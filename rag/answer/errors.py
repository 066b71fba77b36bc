"""LLM failures as one exception type with a message fit to show a user, secrets removed.

Backends translate whatever their client raises (connection refused, timeouts, HTTP status
errors, a stream cut midway, a model folder that will not load) into :class:`LLMError`, so the
CLI and the app can show ``str(error)`` as it is. Messages pass through :func:`scrub_secrets`
because SDK exceptions may echo request details, and servers may echo headers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

#: Error kinds, for callers that react differently (e.g. the app offers a retry on "rate_limit").
KINDS = frozenset(
    {
        "config",  # the backend is not usable as configured (no model, bad backend name)
        "connection",  # refused, DNS failure, unreachable
        "timeout",  # no answer within the configured timeout
        "auth",  # 401/403
        "not_found",  # 404: unknown model or wrong base URL
        "rate_limit",  # 429
        "bad_request",  # 400/422: e.g. the prompt is longer than the model's context
        "server",  # 5xx or any other status
        "stream",  # the stream stopped midway or sent an error event
        "local",  # the local transformers model failed to load or generate
        "internal",  # an unexpected exception inside a backend
    }
)


class LLMError(Exception):
    """An LLM backend failed; ``str(err)`` is a clear, secret-free message for the user."""

    def __init__(self, message: str, *, kind: str, status: int | None = None) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown LLMError kind {kind!r}; known: {sorted(KINDS)}")
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.status = status

    def __str__(self) -> str:
        return self.message


_PATTERNS = [
    # Authorization headers and key=value pairs echoed back by servers or proxies.
    (re.compile(r"(?i)(bearer\s+)[^\s\"',;]+"), r"\1[redacted]"),
    (
        re.compile(r"(?i)((?:api[_-]?key|authorization|x-api-key|token)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"),
        r"\1[redacted]",
    ),
    # OpenAI-style key shapes, including partially masked ones ("sk-proj-****abcd").
    (re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_*\-.]{6,}"), "[redacted]"),
]


def scrub_secrets(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with the given secrets and anything shaped like an API key replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "[redacted]")
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def display_url(url: str) -> str:
    """``url`` without user:password and query string, safe to print in a message."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "[unparsable URL]"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))
