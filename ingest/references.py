"""Cross-references inside contract text (``Section 9.2``, ``第十二条``) and clause ids asked
for in a query; ids normalised by :mod:`ingest.numbering`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.numbering import (
    _CN_REF_RE,
    _cn_ref_norm,
    _NUMID,
    _REF_KEYWORDS,
    _WORDNUM_RE,
    _norm_id_token,
    _norm_numeric,
    normalise_clause_id,
)


# ----------------------------------------------------------------------------- references


@dataclass(frozen=True)
class ClauseReference:
    """A reference to a clause found in running text ("subject to Section 9.2")."""

    start: int
    end: int
    label: str  # as written, keyword included: "Section 9.2", "第十二条"
    norm: str  # normalise_clause_id(label)


_REF_KW = (
    r"(?i:articles?|art\.|sections?|secs?\.|§§?|clauses?|cl\.|paragraphs?|paras?\.|parts?|"
    r"chapters?|schedules?|exhibits?|annex(?:es|ures?)?|appendix|appendices|attachments?|addend(?:um|a))"
)
_REF_ID = (
    _NUMID + r"(?![\w.]?\d)|[IVXLC]{1,7}(?![\w])(?:\([A-Za-z0-9]{1,4}\)){0,3}|[A-Z]{1,2}(?:-\d{1,2})?(?![\w])|"
    r"[\"“][A-Z0-9]{1,2}[\"”]|(?i:" + _WORDNUM_RE + r")(?![\w])"
)
_REF_RE = re.compile(
    r"(?<![\w§])(?P<kw>" + _REF_KW + r")[ \t\u00a0]*(?P<first>" + _REF_ID + r")"
    r"(?P<more>(?:\s*(?:,|and|or|to|through|-|–)\s*(?:" + _REF_ID + r"))*)"
)
_REF_MORE_ID_RE = re.compile(r"(?:\s*(?:,|and|or|to|through|-|–)\s*)(?P<id>" + _REF_ID + r")")
_BARE_SUB_RE = re.compile(r"(?<![\w.$])\d{1,3}(?:\.\d{1,3}){0,5}(?:\([A-Za-z0-9]{1,4}\)){1,4}(?![\w(])")


_PLURALS = {"§§": "§", "annexes": "Annex", "annexures": "Annexure", "appendices": "Appendix", "addenda": "Addendum"}


def _singular(keyword: str) -> str:
    """ "Sections" -> "Section", "§§" -> "§": the keyword for the second id of a list."""
    k = keyword.rstrip(".")
    if k.casefold() in _PLURALS:
        return _PLURALS[k.casefold()]
    return k[:-1] if len(k) > 3 and k[-1] in "sS" else k


def find_clause_references(text: str) -> list[ClauseReference]:
    """Clause references in running text, in order: keyword forms ("Sections 3.1 and 3.2",
    "Article IV", "§ 4", "Exhibit A") and Chinese forms ("第十二条", "附件一").

    Each id of a list gets its own reference; a reference after the first carries the list's
    keyword in its label ("Section 3.2").
    """
    out: list[ClauseReference] = []
    for m in _REF_RE.finditer(text):
        kw = m["kw"]
        ns = _REF_KEYWORDS.get(kw.rstrip(".").casefold())
        if ns is None:
            continue
        singular = _singular(kw)
        first_norm = _norm_id_token(m["first"], ns)
        if first_norm is not None:
            out.append(ClauseReference(m.start(), m.end("first"), text[m.start() : m.end("first")], first_norm))
        base = m.end("first")
        for mm in _REF_MORE_ID_RE.finditer(m["more"] or ""):
            n = _norm_id_token(mm["id"], ns)
            if n is None:
                continue
            s, e = base + mm.start("id"), base + mm.end("id")
            out.append(ClauseReference(s, e, f"{singular} {mm['id']}", n))
    for m in _CN_REF_RE.finditer(text):
        out.append(ClauseReference(m.start(), m.end(), m.group(0), _cn_ref_norm(m)))
    out.sort(key=lambda r: r.start)
    return out


def parse_clause_reference(query: str) -> list[str]:
    """Normalised ids of the clauses a user query names, in order, without repeats.

    ``"what does Section 12.3 say"`` -> ``["12.3"]``; ``"clause 9(b)"`` -> ``["9.b"]``;
    ``"第十二条"`` -> ``["12"]``; ``"Schedule 2"`` -> ``["schedule 2"]``. Besides the keyword forms of
    ``find_clause_references`` a query may name a sub-clause bare: ``"12.3(b)"``.
    """
    refs = [(r.start, r.end, r.norm) for r in find_clause_references(query)]
    for m in _BARE_SUB_RE.finditer(query):
        if not any(s <= m.start() < e for s, e, _ in refs):
            n = _norm_numeric(m.group(0))
            if n is not None:
                refs.append((m.start(), m.end(), n))
    refs.sort()
    seen: list[str] = []
    for _, _, n in refs:
        if n not in seen:
            seen.append(n)
    return seen
