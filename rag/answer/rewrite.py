"""Follow-up questions made standalone before retrieval ("and what about the notice period?").

Chat backends make one short, non-streamed call with a rewriting prompt; the extractive
backend joins the previous user question and the last one. Rewriting is an aid, not a
gate: if the LLM fails or answers nonsense, the joined question is used and the failure is
logged (the answer call that follows reports the same endpoint's error to the user).
"""

from __future__ import annotations

import logging
import re

from rag.answer.errors import LLMError
from rag.answer.extractive import standalone
from rag.answer.generation import strip_thinking
from rag.answer.base import LLM, ChatLLM
from rag.answer.prompts import History, rewrite_messages

log = logging.getLogger(__name__)

REWRITE_MAX_TOKENS = 200
_PREFIX = re.compile(
    r"^(?:standalone(?: question)?|rewritten(?: question)?|question|独立问题|问题)\s*[:：]\s*", re.IGNORECASE
)


def _clean(text: str) -> str:
    text = "".join(strip_thinking([text])).strip()
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = _PREFIX.sub("", line).strip()
    if len(line) >= 2 and line[0] + line[-1] in {'""', "“”", "''", "「」"}:
        line = line[1:-1].strip()
    return line


def rewrite_question(question: str, history: History, llm: LLM) -> str:
    """``question`` rewritten to stand on its own given ``history`` of (role, text) turns."""
    if not any(role == "user" for role, _ in history):
        return question
    fallback = standalone(question, history)
    if not isinstance(llm, ChatLLM):
        return fallback
    try:
        limit = min(REWRITE_MAX_TOKENS, llm.options.max_tokens)
        raw = llm.complete(rewrite_messages(question, history), max_tokens=limit, temperature=0.0)
    except LLMError as e:
        log.warning("follow-up rewriting failed, using the joined questions instead: %s", e)
        return fallback
    rewritten = _clean(raw)
    if not rewritten or len(rewritten) > 4 * len(fallback) + 200:
        log.warning(
            "follow-up rewriting gave an unusable question (%d chars); using the joined questions", len(rewritten)
        )
        return fallback
    return rewritten
