"""Clause structure of contracts: heading tree, clause-id normalisation and cross-references.

Contracts arrive as text extracted from PDFs and HTML: headings may sit alone on a line, after a
run of spaces (tables flattened into one line) or right after the previous sentence (whole pages
on one line). ``parse_structure`` therefore looks for headings at *anchors* (line starts, gaps of
two or more spaces, sentence ends) and keeps a candidate only when its numbering continues the
numbering seen so far (``1, 2, 3`` siblings, ``1.1, 1.2`` children, ``(a), (b)`` items). That
rule is what tells a heading from a cross-reference ("subject to Section 9.2 ..."), a page
number or a table row. Tables of contents are recognised as a block of short entries whose ids
come back later as headings, and become one ``toc`` node instead of being read as body.

Normalised clause ids (``Clause.norm``, ``normalise_clause_id``, ``parse_clause_reference``):

* numbered clauses are their numbers joined by dots, leading zeros dropped, letters lower-cased,
  sub-clause letters and roman numerals kept as written: ``Section 12.3(b)(ii)`` -> ``12.3.b.ii``,
  ``2.01`` -> ``2.1``, ``clause 9(b)`` -> ``9.b``, ``§ 4`` -> ``4``;
* ``Article``, ``Section``, ``Clause``, ``§`` and ``第…条`` are interchangeable in contracts, so
  the keyword is dropped and numerals become digits: ``Article IV`` -> ``4``, ``第十二条`` -> ``12``,
  ``第十二条第三款`` -> ``12.3``;
* divisions with numbering of their own keep their keyword: ``Schedule 2`` -> ``schedule 2``,
  ``Exhibit A`` -> ``exhibit a``, ``Annex 1``, ``Appendix B``, ``Part 2`` -> ``part 2``,
  ``Chapter 3`` / ``第三章`` -> ``chapter 3``, ``第二节`` -> ``subchapter 2``, ``附件一`` -> ``annex 1``;
* unnumbered parts: ``recitals``, ``definitions``, ``toc``, ``signatures``;
* enumerated items take their parent's id: ``(b)`` under ``12.3`` -> ``12.3.b``.

Ids are not unique within a document (a schedule restarts its numbering); ``Clause.parent``
tells the copies apart.

This module is the public entry; the work is split by job, imports running one way:
:mod:`ingest.numbering` (numerals, ``normalise_clause_id``) <- :mod:`ingest.references`
(cross-references) and :mod:`ingest.headings` (heading regexes, candidate records) <-
:mod:`ingest.heading_scan` (finding candidates), :mod:`ingest.toc` (page furniture, tables of
contents) and :mod:`ingest.clause_tree` (accepting candidates, spans) <- this module.
"""

from __future__ import annotations

import re

from ingest.clause_tree import _TreeBuilder, _finish
from ingest.heading_scan import _Scanner
from ingest.headings import _Cand, _line_bounds
from ingest.numbering import normalise_clause_id
from ingest.references import ClauseReference, find_clause_references, parse_clause_reference
from ingest.toc import _find_tocs, _furniture_lines
from rag.documents import Clause

__all__ = [
    "ClauseReference",
    "find_clause_references",
    "normalise_clause_id",
    "parse_clause_reference",
    "parse_structure",
]


def parse_structure(text: str, language: str = "en") -> list[Clause]:
    """The clause tree of a contract as a flat list in document order.

    ``Clause.parent`` indexes this list; ``Clause.start``/``end`` span the clause with its body
    and sub-clauses (trailing whitespace excluded). ``language`` "zh" (or Chinese characters in
    ``text``) turns on the Chinese heading forms (第十二条, 第三章, 一、, （一）, 附件一).
    """
    if not text.strip():
        return []
    chinese = language.lower().startswith("zh") or re.search(r"[\u4e00-\u9fff]", text) is not None
    cands = _Scanner(text, chinese).candidates()
    furniture = _furniture_lines(text)
    cands = [c for c in cands if _line_bounds(text, c.start)[0] not in furniture]
    tocs = _find_tocs(text, cands)
    for s, e in tocs:
        cands = [c for c in cands if not (s <= c.start < e)]
        toc = _Cand(s, s, "special", "toc", "Table of Contents", "line", norm="toc", heading_end=s, line_end=e)
        cands.append(toc)
    cands.sort(key=lambda c: c.start)
    toc_ends = dict(tocs)

    builder = _TreeBuilder(text)
    heading_end = -1
    for c in cands:
        if c.start < heading_end:
            continue
        if builder.add(c):
            heading_end = max(c.heading_end, c.label_end)
            if c.kind == "toc":
                heading_end = toc_ends[c.start]
    return _finish(text, builder.nodes, toc_ends)
