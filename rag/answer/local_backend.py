"""Local transformers chat backend: any chat-templated causal LM folder or Hub id.

Generation runs in a worker thread and streams through ``TextIteratorStreamer``; closing
the :class:`Generation` stops the worker at the next token, and an exception in the worker
ends the stream as an :class:`LLMError`. The model loads once, on first use: hold one
``LocalChat`` per process (the app caches it). Control tokens inside
messages (a document containing ``<|im_end|>``) are encoded as plain text, so document
text cannot forge chat turns.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from rag.answer.errors import LLMError
from rag.answer.generation import Generation, GenerationInfo
from rag.answer.base import ChatLLM, LLMOptions
from rag.answer.prompts import Message

log = logging.getLogger(__name__)


def _resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class LocalChat(ChatLLM):
    """A causal LM loaded with transformers on first use, shared by all requests."""

    name = "local"

    def __init__(self, model: str, device: str = "auto", options: LLMOptions | None = None) -> None:
        self.model = model
        self.options = options or LLMOptions()
        self._device_setting = device
        self._lock = threading.Lock()
        self._loaded: tuple[Any, Any, str] | None = None

    def _load(self) -> tuple[Any, Any, str]:
        with self._lock:
            if self._loaded is not None:
                return self._loaded
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer

                device = _resolve_device(self._device_setting)
                tokenizer = AutoTokenizer.from_pretrained(self.model)
                model: Any = AutoModelForCausalLM.from_pretrained(self.model, dtype="auto")
                model = model.to(device)
                model.eval()
            except Exception as e:
                raise LLMError(
                    f"the local LLM {self.model!r} could not be loaded ({type(e).__name__}: {e}); "
                    "RAG_LLM_MODEL must be a causal LM folder or a Hub id available offline",
                    kind="local",
                ) from None
            if not getattr(tokenizer, "chat_template", None):
                raise LLMError(
                    f"the local LLM {self.model!r} has no chat template; use an instruction-tuned (chat) model",
                    kind="local",
                )
            self._loaded = (tokenizer, model, device)
            log.info("loaded local LLM %s on %s", self.model, device)
            return self._loaded

    def encode(self, messages: Sequence[Message]) -> Any:
        """The chat-templated input ids (a 1×n tensor) with control tokens in content neutralised."""
        tokenizer, _, device = self._load()
        kwargs: dict[str, Any] = dict(add_generation_prompt=True, return_tensors="pt", return_dict=True)
        msgs = [dict(m) for m in messages]
        if "sanitize_control_tokens" in inspect.signature(tokenizer.apply_chat_template).parameters:
            kwargs["sanitize_control_tokens"] = True
        else:  # older transformers: break special-token strings so they tokenize as text
            specials = [t for t in getattr(tokenizer, "all_special_tokens", []) if len(t) > 1]
            for m in msgs:
                for token in specials:
                    m["content"] = m["content"].replace(token, token[0] + "\u2060" + token[1:])
        try:
            encoded = tokenizer.apply_chat_template(msgs, **kwargs)
        except Exception as e:
            raise LLMError(
                f"the chat template of {self.model!r} failed: {type(e).__name__}: {e}", kind="local"
            ) from None
        return encoded["input_ids"].to(device)

    def chat(
        self, messages: Sequence[Message], *, max_tokens: int | None = None, temperature: float | None = None
    ) -> Generation:
        import torch
        from transformers import StoppingCriteria, StoppingCriteriaList, TextIteratorStreamer

        tokenizer, model, _ = self._load()
        input_ids = self.encode(messages)
        temperature = self.options.temperature if temperature is None else temperature
        max_new = max_tokens or self.options.max_tokens
        stop = threading.Event()

        class _StopOnClose(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
                return torch.full((input_ids.shape[0],), stop.is_set(), dtype=torch.bool, device=input_ids.device)

        # no timeout: reading a long prompt on a CPU can take minutes before the first token;
        # a worker that fails ends the stream with its error instead
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        sampling: dict[str, Any] = (
            {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
        )
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        failure: list[BaseException] = []
        out_len: list[int] = []

        def work() -> None:
            try:
                with torch.inference_mode():
                    out = model.generate(
                        input_ids=input_ids,
                        attention_mask=torch.ones_like(input_ids),
                        max_new_tokens=max_new,
                        streamer=streamer,
                        stopping_criteria=StoppingCriteriaList([_StopOnClose()]),
                        pad_token_id=pad,
                        **sampling,
                    )
                out_len.append(int(out.shape[-1] - input_ids.shape[-1]))
            except BaseException as e:  # reported to the consumer, never lost in the thread
                failure.append(e)
                streamer.end()

        info = GenerationInfo(model=self.model, prompt_tokens=int(input_ids.shape[-1]))
        thread = threading.Thread(target=work, name="rag-local-llm", daemon=True)
        thread.start()

        def pieces() -> Iterator[str]:
            for piece in streamer:
                if piece:
                    yield piece
            thread.join()
            if failure:
                e = failure[0]
                raise LLMError(
                    f"the local LLM {self.model!r} failed while generating: {type(e).__name__}: {e}", kind="local"
                ) from None
            info.completion_tokens = out_len[0] if out_len else None
            info.finish_reason = "length" if out_len and out_len[0] >= max_new else "stop"

        return Generation(pieces(), info, on_close=stop.set)
