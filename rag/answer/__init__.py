"""Cited answers from retrieved hits: pluggable LLMs, grounded prompts, checked citations.

llm = make_llm(settings)                      # openai, local or extractive
query = rewrite_question(question, history, llm)   # before retrieval, for follow-ups
stream = answer(question, hits, llm, history=history)
for piece in stream: ...                      # text pieces (st.write_stream takes it)
result = stream.result                        # Answer: text, citations, issues, error
"""

from rag.answer.citations import CitationIssue, check_citations
from rag.answer.context import ContextBlock, approx_tokens, build_context
from rag.answer.errors import LLMError, scrub_secrets
from rag.answer.generation import Generation, GenerationInfo
from rag.answer.llm import LLM, ChatLLM, LLMOptions, make_llm
from rag.answer.prompts import NOT_FOUND, Prompt, build_prompt
from rag.answer.result import Answer, Citation
from rag.answer.rewrite import rewrite_question
from rag.answer.stream import AnswerStream, answer

__all__ = [
    "LLM",
    "NOT_FOUND",
    "Answer",
    "AnswerStream",
    "ChatLLM",
    "Citation",
    "CitationIssue",
    "ContextBlock",
    "Generation",
    "GenerationInfo",
    "LLMError",
    "LLMOptions",
    "Prompt",
    "answer",
    "approx_tokens",
    "build_context",
    "build_prompt",
    "check_citations",
    "make_llm",
    "rewrite_question",
    "scrub_secrets",
]
