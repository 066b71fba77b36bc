"""Backend selection and options."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from rag.answer import LLMError, LLMOptions, answer, make_llm
from rag.answer.extractive import Extractive
from rag.answer.openai_backend import OpenAIChat
from rag.config import Settings
from tests.rag.answer.helpers import make_hit


def test_backend_follows_settings_and_override() -> None:
    assert isinstance(make_llm(Settings()), Extractive)
    configured = Settings(llm_base_url="http://127.0.0.1:1/v1", llm_model="m")
    assert isinstance(make_llm(configured), OpenAIChat)
    assert isinstance(make_llm(configured, backend="extractive"), Extractive)
    with pytest.raises(LLMError, match="unknown LLM backend 'gpt'") as info:
        make_llm(Settings(), backend="gpt")
    assert info.value.kind == "config"


def test_options_read_settings_fields_when_present() -> None:
    assert LLMOptions.from_settings(Settings()) == LLMOptions()
    settings = SimpleNamespace(
        llm_temperature="0.7", llm_max_tokens=99, llm_timeout_s=5, llm_max_retries=0, llm_context_tokens=None
    )
    opts = LLMOptions.from_settings(settings)  # type: ignore[arg-type]
    assert (opts.temperature, opts.max_tokens, opts.timeout_s, opts.max_retries) == (0.7, 99, 5.0, 0)
    assert opts.context_tokens == LLMOptions().context_tokens


def test_context_budget_can_be_set_per_call() -> None:
    hits = [make_hit("word " * 200, chunk_id=i) for i in range(5)]
    llm = Extractive()
    assert len(answer("q", hits, llm).prompt.blocks) == 5
    assert len(answer("q", hits, llm, context_tokens=600).prompt.blocks) == 2


def test_unknown_history_roles_fail_loudly() -> None:
    with pytest.raises(ValueError, match="'user' or 'assistant'"):
        answer("q", [], Extractive(), history=[("system", "x")])
