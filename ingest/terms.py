"""Defined terms of a contract and where each is defined, so an answer can bring the definition.

Recognised forms (straight, curly or mismatched quotes):

* ``"Confidential Information" means ...`` / ``shall mean`` / ``refers to`` / ``has the meaning``;
  ``1.1 TRANSPORTATION QUANTITY - shall mean ...`` (an unquoted ALL-CAPS term at a clause start);
* parenthetical: ``(the "Effective Date")``, ``("Company")``, ``(each, a "Party" and together,
  the "Parties")``;
* ``hereinafter referred to as "Transporter"``, ``referred to herein as the "Company" or "AZUL"``;
* Chinese: ``“保密信息”是指 ...``, ``（以下简称“甲方”）``.

A "means" definition spans from the term to the end of its paragraph (or the next definition);
the other forms span the sentence that contains them. A pointer such as ``"Claim" shall have the
meaning set forth in Section 7.01`` is kept only when the text has no other definition of that term.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable

from rag.documents import Clause, DefinedTerm

__all__ = ["find_defined_terms"]

_QO = "\"“”‘'"  # opening quotes
_QC = "\"”“’'"  # closing quotes (extractions mismatch them)
_TERM = r"(?P<term>[A-Z0-9][^\"“”\n]{0,80}?)"
_MEANS_VERB = (
    r"(?P<verb>(?:shall\s+)?means?\b|shall\s+mean\b|(?:shall\s+)?(?:have|has)\s+the\s+(?:same\s+)?meanings?\b|"
    r"(?:shall\s+)?refers?\s+to\b|(?:is|are)\s+defined\s+as\b|(?:shall\s+)?(?:include|includes)\b(?=\s+(?:any|all|the|each)))"
)
_MEANS_RE = re.compile(
    r"[" + _QO + r"]" + _TERM + r"[,.]?[" + _QC + r"]"
    r"(?:\s*(?:or|and|,)\s*[" + _QO + r"][^\"“”\n]{1,80}?[" + _QC + r"])*"
    r",?\s*(?:\([^()\n]{0,80}\)\s*)?(?:[-–—:]\s*)?" + _MEANS_VERB
)
_MEANS_WORD_RE = re.compile(r"\b(?:shall mean|means)\b")
# the unquoted ALL-CAPS term before "means", at a line or clause start (searched backwards)
_CAPS_TERM_RE = re.compile(
    r"(?:^|\n|\s\s|[.;]\s)[ \t]*(?:\(?[0-9a-zA-Z]{1,3}(?:\.\d{1,3})*[.)]?[ \t]+)?"
    r"(?P<term>[A-Z][A-Z0-9&\-]+(?:[ \t]+[A-Z][A-Z0-9&\-]+){0,6})[ \t]*(?:[-–—:][ \t]*)?$"
)
_POINTER_RE = re.compile(
    r"\s+(?:set\s+forth|given|ascribed|assigned|specified|defined|provided|attributed)\b|"
    r"\s+in\s+(?:the\s+)?(?:Section|Article|Clause|Schedule|Exhibit|Recital|Preamble|paragraph)",
    re.I,
)
_PAREN_RE = re.compile(r"[(（](?P<body>[^()（）\n]{0,240})[)）]")
_QUOTED_RE = re.compile(r"[" + _QO + r"](?P<term>[A-Z0-9][^\"“”\n]{0,80}?)[,.]?[" + _QC + r"]")
_HEREINAFTER_RE = re.compile(
    r"\b(?:referred\s+to|called|defined)\s+"
    r"(?:herein\s+|hereinafter\s+|below\s+)?as\s+(?:the\s+|a\s+|an\s+)?"
    r"[" + _QO + r"](?P<term>[A-Z0-9][^\"“”\n]{0,80}?)[,.]?[" + _QC + r"]"
    r"(?P<more>(?:\s*(?:,|or|and)\s*(?:the\s+)?[" + _QO + r"][A-Z0-9][^\"“”\n]{0,80}?[,.]?[" + _QC + r"])*)",
    re.I,
)
_CN_MEANS_RE = re.compile(r"[“\"「『](?P<term>[^”\"」』\n]{1,30})[”\"」』]\s*(?:是指|系指|意指|指)")
_CN_PAREN_RE = re.compile(
    r"[（(](?:以下|下文)?(?:简称|簡稱|称|稱)(?:为|為)?[：:]?[“\"「『](?P<term>[^”\"」』\n]{1,30})[”\"」』][）)]"
)

_ABBREV = re.compile(
    r"(?<![A-Za-z])(?:Inc|Co|Corp|Ltd|L\.L\.C|LLC|N\.A|U\.S|No|Nos|Mr|Mrs|Ms|Dr|St|Jr|Sr|S\.A|B\.V|N\.V|etc|e\.g|i\.e|vs|v)\.$",
    re.I,
)
_NOT_TERMS = {"The", "This", "That", "Each", "Such", "Any", "All", "No", "Either", "Neither", "Notwithstanding"}


def _term_ok(term: str) -> bool:
    term = term.strip()
    if not term or len(term) > 80 or len(term.split()) > 10:
        return False
    if not re.match(r"[A-Z0-9\u4e00-\u9fff]", term) or term.endswith((".", ";")):
        return False
    return bool(re.search(r"[A-Z\u4e00-\u9fff]", term))


def _sentence_start(text: str, pos: int, limit: int = 600) -> int:
    lo = max(0, pos - limit)
    i = pos
    while i > lo:
        ch = text[i - 1]
        if ch == "\n":
            prev = text[max(0, i - 40) : i - 1].rstrip()
            if i - 2 < 0 or text[i - 2] == "\n" or (prev[-1:] in (".", ";", ":") and not _ABBREV.search(prev[-13:])):
                return i
        if ch in "。；":
            return i
        if ch in " \t" and i - 2 >= 0 and text[i - 2] in ".;:":
            head = text[max(0, i - 13) : i - 1]
            if not (text[i - 2] == "." and _ABBREV.search(head)):
                return i
        i -= 1
    return lo


_SENTENCE_END_RE = re.compile(r"(?:(?<=[.;。；])|(?<=[.;][\"”’)]))(?:\s+(?=[A-Z\"“(0-9])|\s*\n|\s*$)|\n\s*\n")


def _sentence_end(text: str, pos: int, limit: int = 800) -> int:
    hi = min(len(text), pos + limit)
    m = _SENTENCE_END_RE.search(text, pos, hi)
    while m is not None and _ABBREV.search(text[max(0, m.start() - 12) : m.start()]):
        nxt = max(m.end(), m.start() + 1)  # always move on ("Inc." is no sentence end)
        m = _SENTENCE_END_RE.search(text, nxt, hi) if nxt < hi else None
    return m.start() if m else hi


def _paragraph_end(text: str, pos: int, limit: int = 2000) -> int:
    """End of the paragraph at ``pos``: a blank line, a line ending a sentence, or a gap of spaces
    that starts a new clause in flattened text."""
    hi = min(len(text), pos + limit)
    m = re.compile(r"\n[ \t]*\n|(?<=[.;:。；])[ \t]*\n|(?<=[.;])[ \t]{2,}(?=\S)").search(text, pos, hi)
    end = m.start() if m else hi
    while end > pos and text[end - 1].isspace():
        end -= 1
    return end


def _clause_window(text: str, clauses: list[Clause] | None) -> Callable[[int], tuple[int, int]]:
    """For a position, the span of the innermost clause containing it (before, between or after
    clauses: the gap between them). A definition never runs on into another clause."""
    if clauses is None:
        from ingest.structure import parse_structure

        clauses = parse_structure(text)
    spans = sorted(((c.start, c.end) for c in clauses), key=lambda x: (x[0], -x[1]))
    starts = [s for s, _ in spans]
    ends = sorted(e for _, e in spans)

    def window(pos: int) -> tuple[int, int]:
        inner = None
        for s, e in spans[: bisect.bisect_right(starts, pos)]:
            if s <= pos < e:
                inner = (s, e)  # nested and sorted: the last span containing pos is the innermost
        if inner is not None:
            return inner
        i = bisect.bisect_right(starts, pos)
        j = bisect.bisect_right(ends, pos)
        return (ends[j - 1] if j else 0), (starts[i] if i < len(starts) else len(text))

    return window


def find_defined_terms(text: str, clauses: list[Clause] | None = None) -> list[DefinedTerm]:
    """Defined terms in document order, each with the span of its definition.

    ``clauses`` (``parse_structure(text)``, computed when not given) keeps a definition inside
    the clause that defines the term.
    """
    # (term, where the term is written, definition start, definition end, form)
    found: list[tuple[str, int, int, int, str]] = []
    for m in _MEANS_RE.finditer(text):
        term = m["term"].strip().rstrip(",")
        if _term_ok(term):
            pointer = m["verb"].lower().split()[-1].startswith("meaning") and _POINTER_RE.match(text, m.end())
            end = max(_paragraph_end(text, m.end()), m.end())
            found.append((term, m.start("term"), m.start(), end, "pointer" if pointer else "means"))
    for m in _MEANS_WORD_RE.finditer(text):
        c = _CAPS_TERM_RE.search(text, max(0, m.start() - 120), m.start())
        if c is None:
            continue
        term = c["term"].strip()
        if term.split()[0] not in {w.upper() for w in _NOT_TERMS} and _term_ok(term):
            found.append((term, c.start("term"), c.start("term"), max(_paragraph_end(text, m.end()), m.end()), "means"))
    for m in _PAREN_RE.finditer(text):
        if re.search(r"\bmeans?\b", m["body"]):
            continue
        for q in _QUOTED_RE.finditer(m["body"]):
            term = q["term"].strip().rstrip(",")
            if _term_ok(term):
                at = m.start("body") + q.start("term")
                found.append((term, at, _sentence_start(text, m.start()), _sentence_end(text, m.end()), "paren"))
    for m in _HEREINAFTER_RE.finditer(text):
        terms = [(m["term"], m.start("term"))]
        terms += [(q["term"], m.start("more") + q.start("term")) for q in _QUOTED_RE.finditer(m["more"] or "")]
        for term, at in terms:
            term = term.strip().rstrip(",")
            if _term_ok(term):
                found.append((term, at, _sentence_start(text, m.start()), _sentence_end(text, m.end()), "paren"))
    for m in _CN_MEANS_RE.finditer(text):
        end = max(_paragraph_end(text, m.end()), m.end())
        found.append((m["term"].strip(), m.start("term"), m.start(), end, "means"))
    for m in _CN_PAREN_RE.finditer(text):
        at = m.start("term")
        found.append((m["term"].strip(), at, _sentence_start(text, m.start()), _sentence_end(text, m.end()), "paren"))

    window = _clause_window(text, clauses)
    # a "means" definition ends where the next one starts (lists of definitions on one line)
    means_starts = sorted({start for _, _, start, _, form in found if form in ("means", "pointer")})
    out: dict[tuple[str, int], DefinedTerm] = {}
    pointers: list[DefinedTerm] = []
    for term, at, start, end, form in found:
        lo, hi = window(at)
        start, end = max(start, lo), min(end, hi)
        if form != "paren":
            i = bisect.bisect_right(means_starts, start)
            if i < len(means_starts):
                end = min(end, means_starts[i])
        while start < at and text[start].isspace():
            start += 1
        while end > at + len(term) and text[end - 1].isspace():
            end -= 1
        d = DefinedTerm(term=term, start=start, end=end)
        if form == "pointer":
            pointers.append(d)
        else:
            out.setdefault((term, start), d)
    defined = {t for t, _ in out}
    for d in pointers:  # "has the meaning set forth in Section 7.1": only when nothing defines the term
        if d.term not in defined:
            out.setdefault((d.term, d.start), d)
    return sorted(out.values(), key=lambda d: (d.start, d.term))
