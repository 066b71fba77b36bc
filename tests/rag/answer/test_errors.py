"""Secrets never reach messages; URLs are shown without credentials."""

from __future__ import annotations

import pytest

from rag.answer import LLMError, scrub_secrets
from rag.answer.errors import display_url


@pytest.mark.parametrize(
    "text",
    [
        "Incorrect API key provided: sk-proj-abcdefghijklmnop.",
        "Incorrect API key provided: sk-proj-********************wxyz.",
        "headers: {'Authorization': 'Bearer my-private-token-123'}",
        "request to https://host/v1?api_key=supersecretvalue failed",
        '{"api-key": "supersecretvalue"}',
    ],
)
def test_key_shapes_are_scrubbed(text: str) -> None:
    out = scrub_secrets(text)
    assert "[redacted]" in out
    for secret in ("abcdefghijklmnop", "wxyz", "my-private-token-123", "supersecretvalue"):
        assert secret not in out


def test_configured_secret_is_scrubbed_whatever_its_shape() -> None:
    assert scrub_secrets("echo: hunter2-local-key!", ["hunter2-local-key"]) == "echo: [redacted]!"
    assert scrub_secrets("plain text stays", ["", None]) == "plain text stays"


def test_display_url_drops_credentials_and_query() -> None:
    assert display_url("http://user:pw@127.0.0.1:8000/v1?key=abc") == "http://127.0.0.1:8000/v1"
    assert display_url("https://api.openai.com/v1/") == "https://api.openai.com/v1/"


def test_llm_error_kinds_are_checked() -> None:
    err = LLMError("the endpoint is down", kind="connection")
    assert str(err) == "the endpoint is down" and err.kind == "connection" and err.status is None
    with pytest.raises(ValueError, match="unknown LLMError kind"):
        LLMError("x", kind="weird")
