"""``answer()``: hits in, a stream of text pieces out, then the checked :class:`Answer`.

The stream never raises for backend failures: an LLM error, or any unexpected exception in
a backend, ends the stream cleanly and lands in ``result.error`` (secrets scrubbed), with
the numbered sources still in ``result.citations``. ``st.write_stream`` and the CLI both
just iterate it.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator, Sequence

from rag.answer.citations import check_citations
from rag.answer.context import build_context
from rag.answer.errors import LLMError
from rag.answer.generation import Generation, strip_thinking
from rag.answer.base import LLM
from rag.answer.prompts import History, Prompt, build_prompt
from rag.answer.result import Answer, Citation
from rag.retrieve.hits import Hit

log = logging.getLogger(__name__)


class AnswerStream(Iterator[str]):
    """Iterate for the answer's text pieces; ``result`` is the :class:`Answer` once done."""

    def __init__(self, question: str, hits: Sequence[Hit], llm: LLM, prompt: Prompt, dropped: int) -> None:
        self.question = question
        self.hits = list(hits)
        self.llm = llm
        self.prompt = prompt
        self._dropped = dropped
        self._parts: list[str] = []
        self._result: Answer | None = None
        self._run = self._generate()

    @property
    def citations(self) -> list[Citation]:
        """The numbered sources sent to the model, available before iterating."""
        return [Citation(b.n, b.hit, truncated=b.truncated) for b in self.prompt.blocks]

    def __iter__(self) -> AnswerStream:
        return self

    def __next__(self) -> str:
        return next(self._run)

    def close(self) -> None:
        """Stop early; ``result`` then holds the text so far."""
        self._run.close()
        if self._result is None:  # closed before the first piece was asked for
            self._finish(None, None)

    @property
    def result(self) -> Answer:
        if self._result is None:
            raise RuntimeError("the answer is not finished: iterate the AnswerStream (or close it) first")
        return self._result

    def _generate(self) -> Generator[str, None, None]:
        error: LLMError | None = None
        gen: Generation | None = None
        try:
            gen = self.llm.generate(self.prompt)
            for piece in strip_thinking(gen):
                self._parts.append(piece)
                yield piece
        except LLMError as e:
            error = e
        except Exception as e:  # a backend bug must not take the app down; say what happened
            message = self.llm.scrub(f"the {self.llm.name} backend failed unexpectedly: {type(e).__name__}: {e}")
            log.error("%s", message)
            error = LLMError(message, kind="internal")
        finally:
            if gen is not None:
                gen.close()
            self._finish(gen, error)

    def _finish(self, gen: Generation | None, error: LLMError | None) -> None:
        text = "".join(self._parts)
        cited, issues = check_citations(text, self.prompt.blocks)
        notes: list[str] = []
        if self._dropped:
            notes.append(f"{self._dropped} retrieved passage(s) did not fit the context budget and were not used")
        if any(b.truncated for b in self.prompt.blocks):
            notes.append("passage [1] was cut to fit the context budget")
        finish = gen.info.finish_reason if gen is not None else None
        if finish == "length":
            notes.append("the answer was cut off at the maximum answer length (max tokens)")
        elif error is None and gen is not None and not text.strip():
            notes.append("the model returned an empty answer")
        self._result = Answer(
            question=self.question,
            text=text,
            backend=self.llm.name,
            model=(gen.info.model if gen is not None and gen.info.model else self.llm.model),
            citations=[Citation(b.n, b.hit, cited=b.n in cited, truncated=b.truncated) for b in self.prompt.blocks],
            issues=issues,
            error=str(error) if error else None,
            error_kind=error.kind if error else None,
            hits=self.hits,
            finish_reason=finish,
            notes=notes,
        )


def answer(
    question: str,
    hits: Sequence[Hit],
    llm: LLM,
    *,
    history: History = (),
    context_tokens: int | None = None,
) -> AnswerStream:
    """Answer ``question`` from ``hits`` (best first) with ``llm``, streamed.

    Pass the question as the user typed it; ``history`` ((role, text) turns) lets the model
    resolve references in it. Retrieval should have used :func:`rewrite_question`'s output.
    ``context_tokens`` overrides the backend's context budget (approximate tokens).
    """
    budget = context_tokens or llm.options.context_tokens
    context = build_context(list(hits), budget, llm.options.chars_per_token)
    prompt = build_prompt(question, context.blocks, history)
    return AnswerStream(question, hits, llm, prompt, dropped=len(context.dropped))
