"""OpenAI-compatible chat backend (OpenAI, vLLM, Ollama, llama.cpp server, LM Studio).

Every failure of the ``openai`` SDK becomes an :class:`LLMError` whose message says what
happened and what to check, names the endpoint (without credentials) and never the key.
A stream that ends without a finish reason was cut midway and is reported as such.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any

from rag.answer.errors import LLMError, display_url, scrub_secrets
from rag.answer.generation import Generation, GenerationInfo
from rag.answer.base import ChatLLM, LLMOptions
from rag.answer.prompts import Message

log = logging.getLogger(__name__)

#: Sent when no key is configured: local servers ignore it, the SDK insists on one.
NO_KEY = "no-key-configured"
_MAX_SERVER_MESSAGE = 300


def _refused(err: BaseException) -> bool:
    """Whether a connection error was a refused connection (walks the exception chain)."""
    seen: set[int] = set()
    e: BaseException | None = err
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, ConnectionRefusedError) or "refused" in str(e).lower() or "errno 111" in str(e).lower():
            return True
        e = e.__cause__ or e.__context__
    return False


def _server_message(err: Any) -> str:
    """The error message a server put in its body, if any (OpenAI-style or plain)."""
    body = getattr(err, "body", None)
    message = None
    if isinstance(body, dict):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, dict) else inner
        if message is None:
            message = body.get("message") or body.get("detail")
    elif isinstance(body, str):
        message = body
    text = " ".join(str(message or "").split())
    if len(text) > _MAX_SERVER_MESSAGE:
        text = text[:_MAX_SERVER_MESSAGE] + "…"
    return text


class OpenAIChat(ChatLLM):
    """Chat completions over HTTP with token streaming."""

    name = "openai"

    def __init__(
        self, base_url: str | None, model: str | None, api_key: str | None, options: LLMOptions | None = None
    ) -> None:
        if not model:
            raise LLMError("the openai LLM backend needs a model name: set RAG_LLM_MODEL", kind="config")
        import openai

        self.model = model
        self.options = options or LLMOptions()
        self._api_key = api_key
        try:
            self._client = openai.OpenAI(
                base_url=base_url or None,
                api_key=api_key or NO_KEY,
                timeout=self.options.timeout_s,
                max_retries=self.options.max_retries,
            )
        except Exception as e:  # e.g. an unparsable base URL
            raise LLMError(
                f"cannot set up the LLM client for {display_url(base_url or '')!r}: {self.scrub(str(e))}", kind="config"
            ) from None
        self.base_url = display_url(str(self._client.base_url)).rstrip("/")

    def scrub(self, text: str) -> str:
        return scrub_secrets(text, [self._api_key])

    # -- errors ---------------------------------------------------------------------------

    def _error(self, err: Exception, *, received: int | None = None) -> LLMError:
        """Translate an SDK exception; ``received`` is the characters streamed so far, if streaming."""
        import openai

        where = f"at {self.base_url}"
        detail = _server_message(err)
        suffix = f": {detail}" if detail else ""
        midway = received is not None
        if isinstance(err, openai.APITimeoutError):
            if midway:
                msg = f"the LLM stream {where} stalled: no data for {self.options.timeout_s:g} s"
                msg += f" after {received} characters"
                return self._make(msg, "timeout")
            return self._make(
                f"the LLM endpoint {where} did not answer within {self.options.timeout_s:g} s (timeout)", "timeout"
            )
        if isinstance(err, openai.APIConnectionError):
            if midway:
                return self._make(
                    f"the LLM stream {where} stopped midway: the connection closed after {received} characters",
                    "stream",
                )
            if _refused(err):
                return self._make(f"LLM endpoint refused the connection {where} (is the server running?)", "connection")
            cause = err.__cause__ or err.__context__
            reason = f": {type(cause).__name__}: {cause}" if cause else ""
            return self._make(f"could not connect to the LLM endpoint {where}{reason}", "connection")
        if isinstance(err, openai.APIStatusError):
            status = err.status_code
            if status in (401, 403):
                what = "rejected the API key" if status == 401 else "refused access"
                return self._make(
                    f"the LLM endpoint {where} {what} (HTTP {status}){suffix} (check the API key, RAG_LLM_API_KEY)",
                    "auth",
                    status,
                )
            if status == 404:
                msg = (
                    f"model {self.model!r} was not found {where} (HTTP 404): the model does not exist there "
                    f"or the base URL is wrong (OpenAI-compatible URLs usually end in /v1){suffix}"
                )
                return self._make(msg, "not_found", status)
            if status == 429:
                return self._make(
                    f"the LLM endpoint {where} is rate-limiting requests (HTTP 429); try again shortly{suffix}",
                    "rate_limit",
                    status,
                )
            if status in (400, 413, 422):
                return self._make(
                    f"the LLM endpoint {where} rejected the request (HTTP {status}){suffix}", "bad_request", status
                )
            return self._make(f"the LLM endpoint {where} failed with HTTP {status}{suffix}", "server", status)
        if isinstance(err, openai.APIError):  # an error event inside the stream
            state = f" after {received} characters" if midway else ""
            return self._make(f"the LLM endpoint {where} reported an error{state}: {detail or err}", "stream")
        return self._make(f"the LLM request {where} failed: {type(err).__name__}: {err}", "internal")

    def _make(self, message: str, kind: str, status: int | None = None) -> LLMError:
        message = self.scrub(message)
        log.warning("LLM error (%s): %s", kind, message)
        return LLMError(message, kind=kind, status=status)

    # -- calls ----------------------------------------------------------------------------

    def _request(
        self, messages: Sequence[Message], stream: bool, max_tokens: int | None, temperature: float | None
    ) -> Any:
        try:
            return self._client.chat.completions.create(
                model=self.model,
                messages=list(messages),  # type: ignore[arg-type]
                stream=stream,
                temperature=self.options.temperature if temperature is None else temperature,
                max_tokens=max_tokens or self.options.max_tokens,
            )
        except Exception as e:
            raise self._error(e) from None

    def chat(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Generation:
        stream = self._request(messages, True, max_tokens, temperature)
        info = GenerationInfo(model=self.model)
        return Generation(self._pieces(stream, info), info, on_close=stream.close)

    def _pieces(self, stream: Any, info: GenerationInfo) -> Iterator[str]:
        received = 0
        try:
            for chunk in stream:
                if getattr(chunk, "model", None):
                    info.model = chunk.model
                usage = getattr(chunk, "usage", None)
                if usage is not None:
                    info.prompt_tokens = usage.prompt_tokens
                    info.completion_tokens = usage.completion_tokens
                for choice in chunk.choices[:1]:
                    piece = choice.delta.content if choice.delta is not None else None
                    if piece:
                        received += len(piece)
                        yield piece
                    if choice.finish_reason:
                        info.finish_reason = choice.finish_reason
        except LLMError:
            raise
        except Exception as e:
            raise self._error(e, received=received) from None
        finally:
            stream.close()
        if info.finish_reason is None:
            raise self._make(
                f"the LLM stream at {self.base_url} stopped midway after {received} characters"
                " (it ended without a finish reason)",
                "stream",
            )

    def complete(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> str:
        response = self._request(messages, False, max_tokens, temperature)
        try:
            return response.choices[0].message.content or ""
        except (AttributeError, IndexError, TypeError) as e:
            raise self._make(
                f"the LLM endpoint at {self.base_url} sent a malformed completion: {type(e).__name__}", "server"
            ) from None
