"""The no-LLM backend: the sentences that best match the question, quoted verbatim and cited.

It never writes a claim of its own: the output is a one-line lead-in, then per block a
label line ``[n] document, clause, page (heading)`` and the chosen sentences as one ``>``
quote, whitespace runs collapsed and `` … `` where sentences in between were left out.
Sentences are ranked with BM25 over the sentences of the retrieved passages (English
stemmed, CJK as character bigrams), nudged towards better-ranked hits. A hit found by
clause lookup ("what does clause 12.3 say") is quoted whole; a question about the contract's own
date quotes first the sentence that states it (rag.retrieve.document_facts); otherwise only sentences of the
spans retrieval ranked are candidates (small to big: the block holds the clause, the quote is
the span), so an answer quotes a sentence, not a page of clause. When nothing was retrieved,
or no hit reaches ``min_score``, it says so plainly; when no sentence shares a word with
the question it says that too and quotes the top passage. Quotes come from the full chunk
text, never from a block cut to the LLM context budget."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rag.answer.context import ContextBlock, has_cjk
from rag.answer.generation import Generation, GenerationInfo
from rag.answer.base import LLM, LLMOptions
from rag.answer.prompts import History, Prompt

#: words that carry no meaning for clause lookup (question words, fillers)
_STOP = frozenset(
    """a an the of to in on for by with at from as is are was were be been being do does did
    what which who whom whose when where why how can could shall should will would may might must
    this that these those it its there their them they he she his her we our you your i me my
    and or not no any all if then than so such about into under over between within per
    say says said tell explain describe mean means regarding according provide provided
    please document documents contract agreement clause section article""".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3040-\u30ff\uac00-\ud7af]+")
# sentence ends: .!? followed by space and a capital/digit/quote/bracket, CJK enders, ; or blank line
_SENT_END = re.compile(r"(?P<stop>(?<=[.!?])\s+(?=[\"'“‘(\[A-Z0-9]))|(?<=[。！？；])|(?<=;)\s*\n|\n\s*\n")
_ABBREV = frozenset(
    """e.g i.e inc ltd co corp no nos sec art para cl u.s mr mrs ms dr st vs etc fig approx
    jan feb mar apr jun jul aug sep sept oct nov dec""".split()
)
_MAX_QUOTE_CHARS = 700
_HEADING_WORDS = 8  # a heading ("12.3 Termination for Convenience.") is quoted with what follows
_MINOR = frozenset("a an and or of for the to in on by with under".split())

LEAD_IN = {
    "en": "The most relevant passages, quoted verbatim from the documents:",
    "zh": "以下是文件中最相关的段落（原文引用）：",
}
LEAD_IN_WEAK = {
    "en": "No passage uses the question's words; the top-ranked passage, quoted verbatim, may still help:",
    "zh": "没有段落包含问题中的词语；以下是排名最高的段落（原文引用），仅供参考：",
}
NOTHING = {
    "en": "Not found in the provided documents: no relevant passage was retrieved for this question.",
    "zh": "在所提供的文件中未找到：没有检索到与该问题相关的段落。",
}


@dataclass(frozen=True)
class ExtractiveOptions:
    max_quotes: int = 4  # sentences quoted at most
    max_chars: int = 1500  # characters quoted at most (a clause lookup may use them all)
    relative_cutoff: float = 0.35  # quote sentences scoring at least this fraction of the best
    min_score: float | None = None  # Hit.score below which a hit counts as not relevant


@dataclass(frozen=True)
class Sentence:
    block: int  # index into the blocks
    start: int  # span in the block's chunk text
    end: int
    text: str  # whitespace-collapsed, otherwise verbatim


@lru_cache(maxsize=1)
def _stemmer():  # type: ignore[no-untyped-def]
    import Stemmer

    return Stemmer.Stemmer("english")


def terms(text: str) -> list[str]:
    """Content terms: stemmed non-stopwords, and character bigrams of CJK runs."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text):
        out += [run[i : i + 2] for i in range(len(run) - 1)] if len(run) > 1 else [run]
    words = [w.lower() for w in _WORD.findall(_CJK_RUN.sub(" ", text))]
    words = [w for w in words if w not in _STOP and (len(w) > 1 or w.isdigit())]
    out += _stemmer().stemWords(words)
    return out


def _abbreviation(before: str) -> bool:
    """Whether the period ending ``before`` belongs to an abbreviation or a list label."""
    words = before.split()
    last = words[-1].rstrip(".").lower()
    if last in _ABBREV or (len(last) == 1 and last.isalpha()):
        return True
    return len(words) == 1 and re.fullmatch(r"[\d.()a-z]{1,8}", last) is not None


def _heading(fragment: str) -> bool:
    """Whether ``fragment`` looks like a heading: short, Title Case or numbers, no CJK."""
    words = fragment.split()
    if not words or len(words) > _HEADING_WORDS or has_cjk(fragment):
        return False
    return all(w[0].isupper() or w[0].isdigit() or w[0] in "([" or w.lower() in _MINOR for w in words)


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of ``text`` (abbreviations such as "Inc." do not end one)."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENT_END.finditer(text):
        before = text[start : m.start()].rstrip()
        if m.group("stop") and before.endswith(".") and _abbreviation(before):
            continue  # "Inc. The", "Sec. 5", a list label "12." alone
        if before.strip():
            spans.append((start, m.start()))
        start = m.end()
    if text[start:].strip():
        spans.append((start, len(text)))
    out: list[tuple[int, int]] = []
    for s, e in spans:  # trim whitespace off both ends
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    merged: list[tuple[int, int]] = []
    for i, (s, e) in enumerate(out):  # a heading such as "12.3 Termination." joins what follows
        if merged and merged[-1][1] == -1:
            s = merged.pop()[0]
        merged.append((s, -1 if _heading(text[s:e]) and i + 1 < len(out) else e))
    return merged


def _collapse(text: str) -> str:
    return " ".join(text.split())


def _quote(text: str, limit: int = _MAX_QUOTE_CHARS) -> str:
    text = _collapse(text)
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind(" ")] + " …" if " " in cut else cut + "…"


def previous_question(question: str, history: History) -> str | None:
    """The user's question before ``question`` in ``history``, if any."""
    earlier = [t.strip() for r, t in history if r == "user" and t.strip() and t.strip() != question.strip()]
    return earlier[-1] if earlier else None


def standalone(question: str, history: History) -> str:
    """The previous user question plus the last one: the extractive backend's follow-up query."""
    previous = previous_question(question, history)
    return f"{previous} {question.strip()}" if previous else question


def _bm25(query: dict[str, float], docs: list[list[str]], k1: float = 1.2, b: float = 0.75) -> list[float]:
    n = len(docs)
    avg = sum(len(d) for d in docs) / n if n else 0.0
    df: Counter[str] = Counter()
    for d in docs:
        df.update(set(d))
    scores = []
    for d in docs:
        tf = Counter(d)
        s = 0.0
        for t, w in query.items():
            if t in tf:
                idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
                s += w * idf * tf[t] * (k1 + 1) / (tf[t] + k1 * (1 - b + b * len(d) / (avg or 1)))
        scores.append(s)
    return scores


def _span_sentences(i: int, block: ContextBlock) -> list[Sentence]:
    """The sentences of the block's ranked spans (offsets in its chunk text), in text order."""
    text = block.hit.chunk.text
    out: dict[tuple[int, int], Sentence] = {}
    for hit in block.hits:
        base = hit.start - hit.chunk.start
        if hit.via == "fact":  # a date alone reads badly: quote the sentence of the chunk that states it
            fs, fe = base, hit.end - hit.chunk.start
            pieces = [(s, e) for s, e in split_sentences(text) if s < fe and fs < e]
        else:
            pieces = [(base + s, base + e) for s, e in split_sentences(hit.text)]
        for s, e in pieces:
            out.setdefault((s, e), Sentence(i, s, e, _collapse(text[s:e])))
    return [out[k] for k in sorted(out)]


def _in_fact(sentence: Sentence, block: ContextBlock) -> bool:
    """Whether ``sentence`` states the document's own date of a ``via="fact"`` hit."""
    return any(hit.via == "fact" and sentence.start < hit.end - hit.chunk.start
               and hit.start - hit.chunk.start < sentence.end for hit in block.hits)


def _overlaps(sentence: Sentence, others: Sequence[Sentence]) -> bool:
    return any(o.block == sentence.block and sentence.start < o.end and o.start < sentence.end for o in others)


def pick_sentences(
    question: str, history: History, blocks: Sequence[ContextBlock], options: ExtractiveOptions
) -> tuple[str, list[Sentence]]:
    """(mode, sentences): mode is "match", "lookup", "weak" or "nothing"."""
    live = [i for i, b in enumerate(blocks) if options.min_score is None or b.hit.score >= options.min_score]
    if not live:
        return "nothing", []
    query: dict[str, float] = {}
    for t in terms(question):
        query[t] = query.get(t, 0.0) + 1.0
    previous = previous_question(question, history)
    for t in terms(previous or ""):  # a follow-up's antecedent helps, at half weight
        query[t] = query.get(t, 0.0) + 0.5
    sentences = [s for i in live for s in _span_sentences(i, blocks[i])]
    lookups = [i for i in live if blocks[i].hit.via == "clause"]
    if lookups:  # the user asked for a clause by its number: quote it whole (all its chunks), within the limit
        chosen: list[Sentence] = []
        used = 0
        for s in (s for s in sentences if s.block in lookups):
            if used + len(s.text) > options.max_chars and chosen:
                break
            chosen.append(s)
            used += len(s.text)
        return "lookup", chosen
    # the document's own date, read where it is stated (rag.retrieve.document_facts): quoted first
    chosen: list[Sentence] = []
    for s in sorted(sentences, key=lambda s: (s.block, s.start, -s.end)):
        if _in_fact(s, blocks[s.block]) and not _overlaps(s, chosen):
            chosen.append(s)
    sentences = [s for s in sentences if not _overlaps(s, chosen)]  # nothing quoted twice
    scores = _bm25(query, [terms(s.text) for s in sentences]) if query else [0.0] * len(sentences)
    rank = {i: r for r, i in enumerate(live)}
    scored = [(sc / (1 + 0.1 * rank[s.block]), s) for sc, s in zip(scores, sentences, strict=True)]
    best = max((sc for sc, _ in scored), default=0.0)
    if best <= 0:
        if chosen:
            return "match", chosen
        top = [s for s in sentences if s.block == live[0]][:2]
        return "weak", top
    used = sum(len(s.text) for s in chosen)
    for sc, s in sorted(scored, key=lambda p: -p[0]):
        if sc < options.relative_cutoff * best or len(chosen) >= options.max_quotes:
            break
        if used + len(s.text) > options.max_chars and chosen:
            continue
        chosen.append(s)
        used += len(s.text)
    return "match", chosen


def render(mode: str, sentences: list[Sentence], blocks: Sequence[ContextBlock], lang: str) -> list[str]:
    """The answer as pieces: the lead-in line, then per block a label and its quotes."""
    if mode == "nothing" or not sentences:
        return [NOTHING[lang]]
    lead = LEAD_IN_WEAK[lang] if mode == "weak" else LEAD_IN[lang]
    pieces = [lead]
    by_block: dict[int, list[Sentence]] = {}
    for s in sentences:
        by_block.setdefault(s.block, []).append(s)
    for i in sorted(by_block):
        block = blocks[i]
        path = block.hit.chunk.heading_path
        heading = f" ({' '.join(path[-1].split())})" if path else ""
        pieces.append(f"\n\n[{block.n}] {block.label()}{heading}:\n> ")
        previous: Sentence | None = None
        for s in sorted(by_block[i], key=lambda s: s.start):
            if previous is not None:  # adjacent sentences run on; a gap is marked as an omission
                gap = block.hit.chunk.text[previous.end : s.start]
                pieces.append(" " if not gap.strip() else " … ")
            pieces.append(_quote(s.text))
            previous = s
    return pieces


class Extractive(LLM):
    """Answers with verbatim, cited sentences of the retrieved passages; never invents text."""

    name = "extractive"
    model = ""

    def __init__(self, options: LLMOptions | None = None, extractive: ExtractiveOptions | None = None) -> None:
        self.options = options or LLMOptions()
        self.extractive = extractive or ExtractiveOptions()

    def generate(self, prompt: Prompt) -> Generation:
        lang = "zh" if has_cjk(prompt.question) else "en"
        mode, sentences = pick_sentences(prompt.question, prompt.history, prompt.blocks, self.extractive)
        pieces = render(mode, sentences, prompt.blocks, lang)
        return Generation(pieces, GenerationInfo(model="extractive", finish_reason="stop"))
