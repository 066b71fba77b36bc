"""Fixtures for the answer tests: the fake OpenAI server, contract-like hits, a tiny chat model.

``fake_openai`` (the server) lives in the top-level conftest: the app and reliability tests use it too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer import make_llm
from rag.answer.llm import LLM
from rag.retrieve.hits import Hit
from tests.fake_openai_server import FakeOpenAIServer
from tests.rag.answer import helpers


@pytest.fixture
def openai_llm(fake_openai: FakeOpenAIServer) -> LLM:
    """The openai backend pointed at ``fake_openai``, with a 1 s timeout and no retries."""
    return make_llm(helpers.openai_settings(fake_openai), options=helpers.FAST)


@pytest.fixture
def contract_hits() -> list[Hit]:
    return helpers.contract_hits()


@pytest.fixture(scope="session")
def tiny_chat_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded tiny Llama chat model folder (ChatML template), built once per session."""
    return helpers.build_tiny_chat_model(tmp_path_factory.mktemp("tiny-chat-llm"))
