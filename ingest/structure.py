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
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

from rag.documents import Clause

__all__ = [
    "ClauseReference",
    "find_clause_references",
    "normalise_clause_id",
    "parse_clause_reference",
    "parse_structure",
]

# ----------------------------------------------------------------------------- numerals

_ROMAN_RE = re.compile(r"M{0,3}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})", re.I)
_ROMAN_VALUE = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
_CN_DIGIT = {
    ch: i
    for i, chars in enumerate("零〇○ 一壹 二贰貳两兩 三叁參 四肆 五伍 六陆陸 七柒 八捌 九玖".split())
    for ch in chars
}
_CN_UNIT = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000}
_WORD_NUMBERS = {
    w: i + 1
    for i, w in enumerate(
        "one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen twenty".split()
    )
}
_WORD_NUMBERS.update({"thirty": 30, "forty": 40})
_WORDNUM_RE = (
    r"(?:TWENTY|THIRTY|FORTY)(?:[- ](?:ONE|TWO|THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE))?|ONE|TWO|"
    r"THREE|FOUR|FIVE|SIX|SEVEN|EIGHT|NINE|TEN|ELEVEN|TWELVE|THIRTEEN|FOURTEEN|FIFTEEN|"
    r"SIXTEEN|SEVENTEEN|EIGHTEEN|NINETEEN"
)
_CN_NUM = "零〇○一壹二贰貳两兩三叁參四肆五伍六陆陸七柒八捌九玖十拾百佰千仟"


def roman_to_int(s: str) -> int | None:
    """``"XIV"`` -> 14; ``None`` for anything that is not a well-formed roman numeral."""
    if not s or not _ROMAN_RE.fullmatch(s):
        return None
    total, prev = 0, 0
    for ch in reversed(s.upper()):
        v = _ROMAN_VALUE[ch]
        if v < prev:
            total -= v
        else:
            total += v
            prev = v
    return total


def cn_to_int(s: str) -> int | None:
    """Chinese (or ASCII/full-width) numeral to int: ``"十二"`` -> 12, ``"一百零一"`` -> 101."""
    s = unicodedata.normalize("NFKC", s)
    if s.isdigit():
        return int(s)
    total, num, seen = 0, 0, False
    for ch in s:
        if ch in _CN_DIGIT:
            num, seen = _CN_DIGIT[ch], True
        elif ch in _CN_UNIT:
            total += (num or 1) * _CN_UNIT[ch]
            num, seen = 0, True
        else:
            return None
    return total + num if seen else None


def word_to_int(s: str) -> int | None:
    """``"TWENTY-ONE"`` -> 21 (article numbers written out)."""
    parts = re.split(r"[- ]", s.lower())
    if not parts or any(p not in _WORD_NUMBERS for p in parts):
        return None
    return sum(_WORD_NUMBERS[p] for p in parts)


def letter_to_int(s: str) -> int | None:
    """``"c"`` -> 3; doubled letters continue after ``z``: ``"aa"`` -> 27."""
    s = s.lower()
    if not s.isalpha() or not s.isascii() or len(set(s)) != 1:
        return None
    return 26 * (len(s) - 1) + ord(s[0]) - ord("a") + 1


def _id_value(token: str) -> int | None:
    """Numeric value of one id token: digits, roman numeral, letter or number word."""
    t = unicodedata.normalize("NFKC", token).strip("\"“”'’")
    if t.isdigit():
        return int(t)
    if re.fullmatch(r"[IVXLC1l]+", t) and not t.isdigit():
        fixed = t.replace("1", "I").replace("l", "I")  # OCR: "ARTICLE I1"
        v = roman_to_int(fixed)
        if v is not None:
            return v
    if len(t) == 1 and t.isalpha():
        return letter_to_int(t)
    v = word_to_int(t)
    if v is not None:
        return v
    return cn_to_int(t)


# ----------------------------------------------------------------------------- normalisation

_NUMID = r"\d{1,3}(?:\.\d{1,3}){0,5}[a-z]?(?:\([A-Za-z0-9]{1,4}\)){0,4}"
_NUMERIC_ID_RE = re.compile(r"(?P<main>\d{1,3}(?:\.\d{1,3})*)(?P<alpha>[a-z])?\.?(?P<suf>(?:\([A-Za-z0-9]{1,4}\))*)")
#: reference keyword (lower case, no dot) -> namespace of its ids ("" = plain clause numbers)
_REF_KEYWORDS = {
    **dict.fromkeys(
        "article articles art section sections sec secs § §§ clause clauses cl paragraph paragraphs para paras".split(),
        "",
    ),
    **{
        w: ns
        for ns, words in {
            "part": "part parts",
            "chapter": "chapter chapters",
            "schedule": "schedule schedules",
            "exhibit": "exhibit exhibits",
            "annex": "annex annexes annexure annexures",
            "appendix": "appendix appendices",
            "attachment": "attachment attachments",
            "addendum": "addendum addenda",
        }.items()
        for w in words.split()
    },
}
_CN_UNIT_NS = {
    "章": "chapter",
    "节": "subchapter",
    "節": "subchapter",
    "编": "part",
    "編": "part",
    "部分": "part",
    "篇": "part",
}
_CN_CONTAINER_NS = {"附件": "annex", "附录": "appendix", "附錄": "appendix", "附表": "schedule"}
_SPECIAL_NORMS = {
    **dict.fromkeys(
        [
            "recitals",
            "recital",
            "background",
            "whereas",
            "preliminary statement",
            "preliminary statements",
            "鉴于",
            "鑒於",
        ],
        "recitals",
    ),
    **dict.fromkeys(["definitions", "definition", "释义", "定义"], "definitions"),
    **dict.fromkeys(["table of contents", "contents", "目录", "目錄"], "toc"),
    **dict.fromkeys(["in witness whereof", "signatures", "signature page"], "signatures"),
}


def _norm_numeric(token: str) -> str | None:
    """``"12.3(b)(ii)"`` -> ``"12.3.b.ii"``; ``"2.01"`` -> ``"2.1"``; ``None`` if not numeric."""
    m = _NUMERIC_ID_RE.fullmatch(token.strip())
    if not m:
        return None
    parts = [str(int(p)) for p in m["main"].split(".")]
    if m["alpha"]:
        parts.append(m["alpha"])
    for sub in re.findall(r"\(([A-Za-z0-9]+)\)", m["suf"] or ""):
        parts.append(str(int(sub)) if sub.isdigit() else sub.lower())
    return ".".join(parts)


def _norm_id_token(token: str, namespace: str) -> str | None:
    """Normalise the id after a keyword; ``namespace`` "" means a plain clause number."""
    t = unicodedata.normalize("NFKC", token).strip().strip("\"“”'’").rstrip(".")
    if not t:
        return None
    num = _norm_numeric(t)
    if num is None:
        m = re.fullmatch(r"([A-Za-z0-9一-龥]+)((?:\([A-Za-z0-9]{1,4}\))*)", t)
        if not m:
            return None
        head, suf = m.group(1), m.group(2)
        if namespace and len(head) <= 2 and head.isalpha() and head.isascii() and not _ROMAN_RE.fullmatch(head):
            base = head.lower()  # "Exhibit A" keeps its letter
        elif namespace and len(head) == 1 and head.isalpha() and head.isascii():
            base = head.lower()  # "Schedule C", "Exhibit I": letters, not roman numerals
        else:
            v = _id_value(head)
            if v is None:
                return None
            base = str(v)
        subs = [str(int(s)) if s.isdigit() else s.lower() for s in re.findall(r"\(([A-Za-z0-9]+)\)", suf)]
        num = ".".join([base, *subs])
    return f"{namespace} {num}" if namespace else num


def normalise_clause_id(label: str) -> str:
    """Lookup id of a clause label or reference (scheme in the module docstring).

    Labels that follow no known form are returned case-folded with spaces collapsed, so that
    equal labels still compare equal.
    """
    s = unicodedata.normalize("NFKC", label).strip()
    s = re.sub(r"\s+", " ", s).strip(" .:;,-–—")
    if not s:
        return ""
    low = s.casefold()
    if low in _SPECIAL_NORMS:
        return _SPECIAL_NORMS[low]
    m = _CN_REF_RE.fullmatch(s)
    if m:
        return _cn_ref_norm(m)
    m = re.fullmatch(r"(?P<kw>§§?|[A-Za-z]+\.?)\s*(?P<id>.+)", s)
    if m:
        kw = m["kw"].rstrip(".").casefold()
        if kw in _REF_KEYWORDS:
            n = _norm_id_token(m["id"], _REF_KEYWORDS[kw])
            if n is not None:
                return n
    n = _norm_numeric(s)
    if n is not None:
        return n
    m = re.fullmatch(r"\(([A-Za-z0-9]{1,4})\)|([A-Za-z]{1,4})[.)]", s)
    if m:
        tok = m.group(1) or m.group(2)
        return str(int(tok)) if tok.isdigit() else tok.lower()
    return low


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
_CN_REF_RE = re.compile(
    r"第(?P<n>[" + _CN_NUM + r"\d]{1,7})(?P<u>条|條|章|节|節|编|編|部分|篇|款)"
    r"(?:第(?P<n2>[" + _CN_NUM + r"\d]{1,5})款)?(?:第(?P<n3>[" + _CN_NUM + r"\d]{1,5})项)?"
    r"|(?P<ckw>附件|附录|附錄|附表)[ \t\u3000]*(?P<cid>[" + _CN_NUM + r"\d]{1,3}|[A-Z])"
)
_BARE_SUB_RE = re.compile(r"(?<![\w.$])\d{1,3}(?:\.\d{1,3}){0,5}(?:\([A-Za-z0-9]{1,4}\)){1,4}(?![\w(])")


def _cn_ref_norm(m: re.Match[str]) -> str:
    if m["ckw"]:
        cid = m["cid"]
        v = cn_to_int(cid)
        return f"{_CN_CONTAINER_NS[m['ckw']]} {v if v is not None else cid.lower()}"
    n = cn_to_int(m["n"])
    unit = m["u"]
    if unit in _CN_UNIT_NS:
        return f"{_CN_UNIT_NS[unit]} {n}"
    parts = [str(n)]
    for extra in (m["n2"], m["n3"]):
        if extra:
            parts.append(str(cn_to_int(extra)))
    return ".".join(parts)


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


# ----------------------------------------------------------------------------- heading candidates

_SPACE = " \t\u00a0\u3000"
_LINE_ANCHOR_RE = re.compile(r"^[ \t\u00a0\u3000]*(?=\S)", re.M)
_GAP_ANCHOR_RE = re.compile(r"(?<=\S)(?:[ \u00a0\u3000]{2,}|\t+)[ \t\u00a0\u3000]*(?=\S)")
_SENT_ANCHOR_RE = re.compile(r"[.;:!?][\"”’')\]]?[ \t\u00a0]+(?=\S)|[。；：！？][ \t\u00a0\u3000]*(?=\S)")

_CN_HEAD_RE = re.compile(r"第(?P<n>[" + _CN_NUM + r"\d]{1,7})[ \t]*(?P<u>章|节|節|条|條|编|編|部分|篇)")
_KW_HEAD_RE = re.compile(
    r"(?P<kw>ARTICLE|Article|ART\.|Art\.|SECTION|Section|SEC\.|Sec\.|CLAUSE|Clause|PART|Part|CHAPTER|"
    r"Chapter|§{1,2})[ \t\u00a0]*(?P<id>"
    + _NUMID
    + r"(?![\w])|[IVXLC1l]{1,7}(?![\w])|(?i:"
    + _WORDNUM_RE
    + r")(?![\w])|[A-Z](?![\w]))(?P<dot>\.?)"
)
_CONTAINER_RE = re.compile(
    r"(?P<ckw>SCHEDULE|Schedule|EXHIBIT|Exhibit|ANNEXURE|Annexure|ANNEX|Annex|APPENDIX|Appendix|"
    r"ATTACHMENT|Attachment|ADDENDUM|Addendum)[ \t\u00a0]+(?P<cid>[\"“]?(?:[A-Z]{1,2}(?:-\d{1,2})?|"
    r"\d{1,2}(?:[-.]\d{1,3})?|[IVX]{1,5})[\"”]?)(?![\w])"
)
_CN_CONTAINER_RE = re.compile(r"(?P<ckw>附件|附录|附錄|附表)[ \t\u3000]*(?P<cid>[" + _CN_NUM + r"\d]{1,3}|[A-Z])?")
_SPECIAL_RE = re.compile(
    r"(?P<sp>RECITALS|Recitals|BACKGROUND|Background|PRELIMINARY STATEMENTS?|Preliminary Statements?|"
    r"W ?H ?E ?R ?E ?A ?S|Whereas|DEFINITIONS|Definitions|IN WITNESS WHEREOF|In Witness Whereof|"
    r"鉴于|鑒於|释义|定义)"
)
_TOC_TITLE_RE = re.compile(r"(?:TABLE OF CONTENTS|Table of Contents|CONTENTS|Contents|INDEX|目录|目錄)[ \t:]*$", re.M)
_NUM_HEAD_RE = re.compile(
    r"(?P<num>\d{1,3}(?:\.\d{1,3}){0,5})(?P<dot>\.?)(?P<suf>(?:\([A-Za-z0-9]{1,4}\)){0,3})"
    r"(?=[ \t\u00a0\u3000\n\r\f]|$|(?<=\.)[A-Z]{2})"  # "3.WARRANTY": a sloppy heading without a space
)
_ENUM_PAREN_RE = re.compile(r"[(（](?P<e>[a-z]{1,4}|[A-Z]{1,4}|\d{1,2}|[一二三四五六七八九十]{1,3})[)）]")
_ENUM_DOT_RE = re.compile(r"(?P<e>[a-z]|[A-Z]|[ivx]{2,5}|[IVX]{2,5})(?P<p>[.)])(?=[ \t\u00a0]|(?<=\))[A-Z])")
_ENUM_CLOSE_DIGIT_RE = re.compile(r"(?P<e>\d{1,2})\)(?=[ \t\u00a0])")
_CN_ITEM_RE = re.compile(r"(?P<e>[一二三四五六七八九十百]{1,4})[、．]")
_CN_DIGIT_ITEM_RE = re.compile(r"(?P<e>\d{1,2})[、．]")

_ABBREV_RE = re.compile(r"(?<![A-Za-z])(?:No|Nos|Vol|Art|Arts|Sec|Secs|Para|para|pp?|Fig|Ref|Reg|Rev|Ch)\.$")
_CN_REF_FOLLOWERS = set("规約约所的中项項之或和及至款，,。；;与與")
_SMALL_WORDS = frozenset(
    "a an and as at by for from in into of on or the to with upon under its their per vs via not no than".split()
)
_CAPS_WORD = r"[A-Z0-9][A-Z0-9&'’/\-]*[A-Z&'’/\-][A-Z0-9&'’/\-]*[,;]?|[A-Z][,;]?|&|-|–|—"
_CAPS_RUN_RE = re.compile(r"(?:(?:" + _CAPS_WORD + r")(?:[ \t\u00a0]+|$))+")


@dataclass
class _Cand:
    start: int
    label_end: int
    family: str  # container | special | ranked | numeric | enum
    kind: str
    label: str
    anchor: str  # line (line start) | gap (after 2+ spaces) | inline (after a sentence end)
    heading: str = ""
    heading_end: int = 0
    rank: int = 0
    value: int = 0
    path: tuple[int, ...] = ()
    norm: str = ""  # numeric, ranked, container, special: full norm; enum: token
    interps: tuple[tuple[str, int, str], ...] = ()  # enum: (style, value, token)
    line_end: int = 0
    style: str = ""  # numeric: how the number is written ("numbered.", "numbered", "section")


@dataclass
class _Node:
    cand: _Cand
    parent: int | None
    label: str
    norm: str
    level: int


_RANKS = {"part": 1, "chapter": 2, "cn_part": 1, "cn_chapter": 2, "cn_section": 3, "article": 4, "cn_article": 4}
_GAP = 3  # a numbering may skip this many headings lost in extraction
#: item styles that can hold numbered clauses ("一、 ... 1. ... 2."); "(a)" items cannot
_MAJOR_ITEM_STYLES = {"cn-item", "dot-upper-alpha", "dot-upper-roman"}


def _line_bounds(text: str, pos: int) -> tuple[int, int]:
    ls = text.rfind("\n", 0, pos) + 1
    le = text.find("\n", pos)
    return ls, (len(text) if le < 0 else le)


def _is_title_case(s: str) -> bool:
    words = re.findall(r"[A-Za-z][A-Za-z'’\-]*", s)
    if not words or not words[0][0].isupper():
        return False
    big = [w for w in words if w.lower() not in _SMALL_WORDS]
    if not big:
        return False
    return sum(w[0].isupper() for w in big) / len(big) >= 0.75


_NEXT_LINE_RE = re.compile(r"\n[ \t\u00a0\u3000]*(?:\n[ \t\u00a0\u3000]*)?(?P<h>[^\n]{1,100})(?=\n|$)")


def _extract_heading(
    text: str, pos: int, line_end: int, next_line_ok: bool, run_in_only: bool = False
) -> tuple[str, int]:
    """Heading text after a label at ``pos`` and where it ends; ``("", pos)`` when none.

    ``run_in_only``: only a heading closed by a full stop or colon ("(b) Indemnification by
    Stryker. Stryker shall ..."), as items carry no other kind.
    """
    m = re.compile(r"[ \t\u00a0\u3000]*(?:[.:)\-–—][ \t\u00a0\u3000]*)?").match(text, pos)
    p = m.end() if m else pos
    if re.match(r"[ \t\u00a0\u3000]*(?:[.:)\-–—])?(?:[ \u00a0\u3000]{2,}|\t)", text[pos:p]) and p < line_end:
        return "", pos  # a gap after the label: what follows is the body (flattened text)
    gap = _GAP_ANCHOR_RE.search(text, p, line_end)
    seg_end = gap.start() if gap else line_end
    rest = text[p:seg_end]
    if not rest.strip():
        if next_line_ok and gap is None:
            nxt = _NEXT_LINE_RE.match(text, line_end)
            if nxt:
                h = nxt["h"].strip()
                if h and (h.isupper() or (_is_title_case(h) and not h.endswith((".", ";", ",")))):
                    if len(h.split()) <= 14 and not re.match(r"[\d(]", h):
                        return h, nxt.end("h")
        return "", pos
    if re.match(r"[\u4e00-\u9fff]", rest):  # Chinese: heading up to the first punctuation or space
        hm = re.match(r"[^\s，。；：,.;:]{1,30}", rest)
        if hm and (hm.end() == len(rest.rstrip()) or rest[hm.end()] in " \t\u3000"):
            return hm.group(0), p + hm.end()
        return "", pos
    caps = None if run_in_only else _CAPS_RUN_RE.match(rest)
    if caps:
        words = caps.group(0).split()
        # a trailing one-letter word usually starts the next sentence ("TERM A party may ...")
        while words and len(words[-1].strip(",;")) == 1 and words[-1] not in ("&",):
            words.pop()
        if words and sum(1 for w in words if re.search(r"[A-Z]{2,}", w)) >= 1 and len(words) <= 14:
            h = " ".join(words).strip(" ,;:-–—")
            if h:
                return h, p + _find_end(rest, words)
    sm = re.match(r"(?P<h>[^\n.:]{1,120}?)(?P<term>\.(?=[ \t\u00a0]|$)|:|[ \t]+[-–—][ \t]+|$)", rest)
    if sm:
        h = sm["h"].strip()
        alone = sm["term"] == "" and seg_end == line_end and len(h) <= 80 and h[:1].isupper()
        if run_in_only and (sm["term"] not in (".", ":") or len(h.split()) > 8):
            return "", pos
        if h and len(h.split()) <= 12 and (alone or _is_title_case(h)) and not h.startswith(('"', "“", "'")):
            if sm["term"]:
                ended = True
            elif seg_end == line_end:
                ended = len(rest.strip()) <= 100
            else:  # cut by a gap in flattened text: the body must start a sentence there
                after = text[seg_end:line_end].lstrip()
                ended = not after or after[0].isupper() or after[0].isdigit() or after[0] in '("“'
            if ended:
                return h, p + sm.start("h") + len(sm["h"].rstrip())
    return "", pos


def _find_end(rest: str, words: list[str]) -> int:
    """End offset in ``rest`` of the word sequence ``words`` (matched from the start)."""
    i = 0
    for w in words:
        i = rest.find(w, i) + len(w)
    return i


def _follow_ok(text: str, pos: int, family: str) -> bool:
    """What follows a label must look like a heading or body start, not running text."""
    m = re.compile(r"[ \t\u00a0\u3000]*(?:[.:\-–—][ \t\u00a0\u3000]*)?").match(text, pos)
    p = m.end() if m else pos
    if p >= len(text) or text[p] in "\n\r\f":
        return True
    if pos > 0 and _GAP_ANCHOR_RE.match(text, pos) and family != "enum":
        return True  # the label ends its line in flattened text: "ARTICLE IV   4.1 ..."

    ch = text[p]
    if ch.isupper() or ch in "\"“'‘([【[" or "\u4e00" <= ch <= "\u9fff" or ch in "（":
        return True
    if family == "enum" and (ch.islower() or ch.isdigit() or ch == "$"):
        return True
    if family == "container" and ch.isdigit():
        return True  # "EXHIBIT A 3-YEAR FORECAST"
    return False


class _Scanner:
    """Finds heading candidates at anchors."""

    def __init__(self, text: str, chinese: bool) -> None:
        self.text = text
        self.chinese = chinese

    def anchors(self) -> list[tuple[int, str]]:
        t = self.text
        found: dict[int, str] = {}
        for m in _SENT_ANCHOR_RE.finditer(t):
            if t[m.start()] == "." and _ABBREV_RE.search(t, max(0, m.start() - 12), m.start() + 1):
                continue  # "No. 1." is not a sentence end
            found[m.end()] = "inline"
        for m in _GAP_ANCHOR_RE.finditer(t):
            found[m.end()] = "gap"
        for m in _LINE_ANCHOR_RE.finditer(t):
            found[m.end()] = "line"
        return sorted(found.items())

    def candidates(self) -> list[_Cand]:
        """Candidates at anchors; the end of a candidate's heading is an anchor too
        ("ARTICLE 1. DEFINITIONS 1.1 Licensor ...")."""
        out: list[_Cand] = []
        queue = self.anchors()
        heapq.heapify(queue)
        done: set[int] = set()
        while queue:
            pos, anchor = heapq.heappop(queue)
            if pos in done:
                continue
            done.add(pos)
            c = self._at(pos, anchor)
            if c is None:
                continue
            out.append(c)
            if c.heading and c.heading_end < c.line_end:
                m = re.compile(r"[ \t\u00a0\u3000]*[.:]?[ \t\u00a0\u3000]+(?=\S)").match(self.text, c.heading_end)
                if m and m.end() not in done:
                    heapq.heappush(queue, (m.end(), "inline"))
        return out

    def _at(self, pos: int, anchor: str) -> _Cand | None:
        t = self.text
        ch = t[pos]
        _, line_end = _line_bounds(t, pos)
        if self.chinese and ch == "第":
            m = _CN_HEAD_RE.match(t, pos)
            if m:
                nxt = t[m.end() : m.end() + 1]
                if nxt and nxt in _CN_REF_FOLLOWERS:
                    return None
                n = cn_to_int(m["n"])
                if n is None or n == 0:
                    return None
                unit = m["u"]
                kind = {
                    "章": "cn_chapter",
                    "节": "cn_section",
                    "節": "cn_section",
                    "条": "cn_article",
                    "條": "cn_article",
                }.get(unit, "cn_part")
                norm = str(n) if kind == "cn_article" else f"{_CN_UNIT_NS[unit]} {n}"
                c = _Cand(
                    pos,
                    m.end(),
                    "ranked",
                    kind,
                    m.group(0),
                    anchor,
                    rank=_RANKS[kind],
                    value=n,
                    norm=norm,
                    path=(n,) if kind == "cn_article" else (),
                    line_end=line_end,
                )
                c.heading, c.heading_end = _extract_heading(t, m.end(), line_end, True)
                c.heading_end = max(c.heading_end, c.label_end)
                return c
        if self.chinese and ch in "附":
            m = _CN_CONTAINER_RE.match(t, pos)
            if m and _follow_ok(t, m.end(), "container"):
                cid = m["cid"] or "1"
                v = cn_to_int(cid)
                norm = f"{_CN_CONTAINER_NS[m['ckw']]} {v if v is not None else cid.lower()}"
                c = _Cand(
                    pos,
                    m.end(),
                    "container",
                    _CN_CONTAINER_NS[m["ckw"]],
                    m.group(0).strip(),
                    anchor,
                    norm=norm,
                    line_end=line_end,
                )
                c.heading, c.heading_end = _extract_heading(t, m.end(), line_end, True)
                c.heading_end = max(c.heading_end, c.label_end)
                return c
        if ch in "ASCPaps§":
            m = _KW_HEAD_RE.match(t, pos)
            if m:
                return self._keyword(m, pos, anchor, line_end)
        if ch in "SEAesa":
            m = _CONTAINER_RE.match(t, pos)
            if m:
                return self._container(m, pos, anchor, line_end)
        if ch in "RBPWDIrbpwdi鉴鑒释定":
            m = _SPECIAL_RE.match(t, pos)
            if m:
                return self._special(m, pos, anchor, line_end)
        if ch.isdigit():
            m = _NUM_HEAD_RE.match(t, pos)
            if m:
                return self._numeric(m, pos, anchor, line_end)
            if self.chinese:
                m = _CN_DIGIT_ITEM_RE.match(t, pos)
                if m:
                    v = int(m["e"])
                    return self._enum(pos, m.end(), m.group(0), (("cn-digit", v, str(v)),), anchor, line_end)
            m = _ENUM_CLOSE_DIGIT_RE.match(t, pos)
            if m:
                v = int(m["e"])
                return self._enum(pos, m.end(), m.group(0), (("close-digit", v, str(v)),), anchor, line_end)
            return None
        if ch in "(（":
            m = _ENUM_PAREN_RE.match(t, pos)
            if m:
                return self._enum(pos, m.end(), m.group(0), _enum_interps(m["e"], "paren"), anchor, line_end)
            return None
        if self.chinese and ch in "一二三四五六七八九十":
            m = _CN_ITEM_RE.match(t, pos)
            if m:
                v = cn_to_int(m["e"])
                if v:
                    return self._enum(pos, m.end(), m.group(0), (("cn-item", v, str(v)),), anchor, line_end)
            return None
        if ch.isascii() and ch.isalpha():
            m = _ENUM_DOT_RE.match(t, pos)
            if m:
                style = "dot" if m["p"] == "." else "close"
                return self._enum(pos, m.end(), m.group(0), _enum_interps(m["e"], style), anchor, line_end)
        return None

    def _keyword(self, m: re.Match[str], pos: int, anchor: str, line_end: int) -> _Cand | None:
        t = self.text
        kw = m["kw"].rstrip(".").lower()
        ident = m["id"]
        end = m.end()
        if not _follow_ok(t, end, "ranked"):
            return None
        label = t[pos : m.end("id")]
        if kw in ("article", "art", "part", "chapter"):
            kind = {"art": "article"}.get(kw, kw)
            if re.fullmatch(r"\d{1,3}", ident) or not re.match(r"\d", ident):
                v = _id_value(ident)
                if v is None or v == 0:
                    return None
                c = _Cand(
                    pos,
                    end,
                    "ranked",
                    kind,
                    label,
                    anchor,
                    rank=_RANKS[kind],
                    value=v,
                    norm=str(v) if kind == "article" else f"{kind} {v}",
                    path=(v,) if kind == "article" else (),
                    line_end=line_end,
                )
            else:  # "Article 4.1": a numbered clause written with the article keyword
                c = self._numeric_cand(ident, pos, end, label, "article", anchor, line_end)
                if c is None:
                    return None
        else:
            kind = {"sec": "section", "§": "section", "§§": "section"}.get(kw, kw)
            if not re.match(r"\d", ident):
                v = _id_value(ident)
                if v is None or v == 0:
                    return None
                c = _Cand(
                    pos, end, "numeric", kind, label, anchor, path=(v,), norm=str(v), line_end=line_end, style=kind
                )
            else:
                c = self._numeric_cand(ident, pos, end, label, kind, anchor, line_end)
                if c is None:
                    return None
        c.heading, c.heading_end = _extract_heading(t, end, line_end, True)
        c.heading_end = max(c.heading_end, c.label_end)
        return c

    def _numeric_cand(
        self, ident: str, pos: int, end: int, label: str, kind: str, anchor: str, line_end: int
    ) -> _Cand | None:
        norm = _norm_numeric(ident)
        if norm is None:
            return None
        path = tuple(_path_value(p) for p in norm.split("."))
        if any(v is None for v in path):
            return None
        style = kind + ("." if label.endswith(".") else "")
        return _Cand(
            pos,
            end,
            "numeric",
            kind,
            label.rstrip("."),
            anchor,
            path=path,
            norm=norm,  # type: ignore[arg-type]
            line_end=line_end,
            style=style,
        )

    def _container(self, m: re.Match[str], pos: int, anchor: str, line_end: int) -> _Cand | None:
        t = self.text
        cid = m["cid"].strip('"“”')
        if "." in cid:  # "Exhibit 10.1": an SEC filing label, not an attachment heading
            return None
        if not _follow_ok(t, m.end(), "container"):
            return None
        ns = _REF_KEYWORDS[m["ckw"].lower()]
        norm = _norm_id_token(cid, ns)
        if norm is None:
            return None
        c = _Cand(pos, m.end(), "container", ns, t[pos : m.end()], anchor, norm=norm, line_end=line_end)
        c.heading, c.heading_end = _extract_heading(t, m.end(), line_end, True)
        c.heading_end = max(c.heading_end, c.label_end)
        return c

    def _special(self, m: re.Match[str], pos: int, anchor: str, line_end: int) -> _Cand | None:
        t = self.text
        word = re.sub(r"\s+", " ", m["sp"]).strip()
        low = word.replace(" ", "").lower() if word.replace(" ", "").lower() == "whereas" else word.lower()
        after = t[m.end() : line_end]
        gap = _GAP_ANCHOR_RE.search(t, m.end(), line_end)
        own_line = not (t[m.end() : gap.start()] if gap else after).strip(" \t:.：")
        if low in ("whereas", "鉴于", "鑒於"):
            if not re.match(r"[ \t,，:：\u3000]", t[m.end() : m.end() + 1]):
                return None
            return _Cand(
                pos,
                m.end(),
                "special",
                "recitals",
                "Recitals",
                anchor,
                norm="recitals",
                heading_end=m.end(),
                line_end=line_end,
            )
        if low == "in witness whereof":
            return _Cand(
                pos,
                m.end(),
                "special",
                "execution",
                word,
                anchor,
                norm="signatures",
                heading_end=m.end(),
                line_end=line_end,
            )
        if not own_line:
            return None
        norm = _SPECIAL_NORMS[low]
        kind = "recitals" if norm == "recitals" else "definitions"
        return _Cand(pos, m.end(), "special", kind, word, anchor, norm=norm, heading_end=m.end(), line_end=line_end)

    def _numeric(self, m: re.Match[str], pos: int, anchor: str, line_end: int) -> _Cand | None:
        t = self.text
        num, dot, suf = m["num"], m["dot"], m["suf"]
        bare = "." not in num and not dot and not suf
        if bare:
            # a bare integer: a heading only as "1 Definitions" at a line start or after a gap
            rest = t[m.end() : line_end]
            if anchor == "inline" or not re.match(r"[ \t\u00a0]+[A-Z][A-Za-z]", rest):
                return None
        if not _follow_ok(t, m.end(), "numeric"):
            return None
        ident = num + suf
        c = self._numeric_cand(ident, pos, m.end(), t[pos : m.end()], "numbered", anchor, line_end)
        if c is None:
            return None
        c.heading, c.heading_end = _extract_heading(t, m.end(), line_end, dot == "." or "." in num)
        c.heading_end = max(c.heading_end, c.label_end)
        if bare and anchor == "gap" and (not c.heading or _GAP_ANCHOR_RE.match(t, c.heading_end) is None):
            return None  # in flattened text only "   1 Definitions   " reads as a heading
        return c

    def _enum(
        self, pos: int, end: int, label: str, interps: tuple[tuple[str, int, str], ...], anchor: str, line_end: int
    ) -> _Cand | None:
        if not interps or not _follow_ok(self.text, end, "enum"):
            return None
        if anchor != "line" and self.text[:pos].rstrip()[-1:] not in (".", ":", ";", "]", '"', "”", "。", "；", "："):
            return None  # "renew for one      (1) year": a number in running text, not an item
        c = _Cand(
            pos,
            end,
            "enum",
            "cn_item" if interps[0][0].startswith("cn") else "item",
            label.strip(),
            anchor,
            interps=interps,
            line_end=line_end,
        )
        c.heading, c.heading_end = _extract_heading(self.text, end, line_end, False, run_in_only=True)
        c.heading_end = max(c.heading_end, c.label_end)
        return c


def _path_value(tok: str) -> int | None:
    if tok.isdigit():
        return int(tok)
    if re.fullmatch(r"[ivx]+", tok) and len(tok) > 1:
        return roman_to_int(tok)
    return letter_to_int(tok) or roman_to_int(tok)


def _enum_interps(e: str, style: str) -> tuple[tuple[str, int, str], ...]:
    """Readings of an item label: ``(i)`` is the ninth letter or the first roman numeral."""
    out: list[tuple[str, int, str]] = []
    if e.isdigit():
        return ((f"{style}-digit", int(e), str(int(e))),)
    if all("\u4e00" <= c <= "\u9fff" for c in e):
        v = cn_to_int(e)
        return ((f"cn-{style}", v, str(v)),) if v else ()
    case = "lower" if e.islower() else "upper" if e.isupper() else None
    if case is None:
        return ()
    a = letter_to_int(e)
    if a is not None:
        out.append((f"{style}-{case}-alpha", a, e.lower()))
    if re.fullmatch(r"[ivxIVX]+", e):
        r = roman_to_int(e)
        if r is not None:
            out.append((f"{style}-{case}-roman", r, e.lower()))
    return tuple(out)


# ----------------------------------------------------------------------------- furniture and TOC


def _furniture_lines(text: str) -> set[int]:
    """Starts of lines that repeat three or more times (page headers/footers)."""
    counts: Counter[str] = Counter()
    lines: list[tuple[int, str]] = []
    for m in re.finditer(r"[^\n]+", text):
        line = m.group(0).strip()
        lead = re.match(r"[(\d.)\s]*", line).group(0)  # a leading clause number stays literal
        key = lead + re.sub(r"\d+", "#", line[len(lead) :])
        if len(key) >= 15:
            counts[key] += 1
            lines.append((m.start(), key))
    return {s for s, k in lines if counts[k] >= 3}


_PAGE_REF_RE = re.compile(r"(?:\.{2,}|…+|[ \t\u00a0]{1,})[ \t\u00a0]*(?:\d{1,3}|[ivx]{1,5})[ \t\u00a0]*$")


def _toc_key(c: _Cand) -> str:
    return f"{c.family}:{c.norm}"


def _find_tocs(text: str, cands: list[_Cand]) -> list[tuple[int, int]]:
    """Spans of tables of contents: runs of four or more short entries in the first 30 % of the
    text, with nothing but short lines (titles, page numbers) between them, whose ids recur
    later as headings."""
    struct = [c for c in cands if c.family in ("numeric", "ranked", "container")]
    entries: list[str] = []
    linked: list[bool] = []  # entry i is followed directly by entry i + 1
    for i, c in enumerate(struct):
        nxt = struct[i + 1] if i + 1 < len(struct) else None
        stop = min(c.line_end, nxt.start) if nxt is not None else c.line_end
        entry = text[c.start : stop].strip()
        entries.append(entry)
        ok = (
            nxt is not None
            and len(entry) <= 150
            and (not entry.endswith((".", ";", ",")) or _PAGE_REF_RE.search(entry) is not None)
        )
        if ok and nxt is not None:
            between = [ln.strip() for ln in text[stop : nxt.start].split("\n") if ln.strip()]
            ok = (
                len(between) <= 2
                and all(len(ln) <= 60 and not ln.endswith((".", ";", ":", ",")) for ln in between)
                and nxt.start - stop <= 250
            )
        linked.append(ok)
    tocs: list[tuple[int, int]] = []
    i = 0
    while i < len(struct):
        if not linked[i]:
            i += 1
            continue
        j = i
        while j < len(struct) and linked[j]:
            j += 1
        run = range(i, j + 1)  # entry j ends the run
        i = j + 1
        if len(run) < 4 or struct[run[0]].start > 0.3 * len(text):
            continue  # a table of contents comes before the body; numbered table rows come later
        last = run[-1]
        later = {_toc_key(c) for c in struct[last + 1 :]}
        recur = sum(_toc_key(struct[k]) in later for k in run) / len(run)
        paged = sum(1 for k in run if _PAGE_REF_RE.search(entries[k])) / len(run)
        if recur >= 0.5 or (paged >= 0.6 and recur >= 0.25):
            start = struct[run[0]].start
            title = None
            for tm in _TOC_TITLE_RE.finditer(text, max(0, start - 400), start):
                title = tm
            if title is not None:
                start = title.start()
            end = struct[last].start + len(entries[last])
            if tocs and start - tocs[-1][1] <= 600:  # one table continued over a page break
                tocs[-1] = (tocs[-1][0], end)
            else:
                tocs.append((start, end))
    return tocs


# ----------------------------------------------------------------------------- tree


def _plausible_numeric(p: tuple[int, ...], last: tuple[int, ...] | None) -> bool:
    """``p`` continues ``last``: next sibling at some level (then first children), or a first child."""
    ref = last if last is not None else (0,)
    n = len(ref)
    if len(p) > n and p[:n] == ref and 1 <= p[n] <= _GAP and all(x == 1 for x in p[n + 1 :]):
        return True
    for k in range(len(ref)):
        if len(p) >= k + 1 and p[:k] == ref[:k] and 1 <= p[k] - ref[k] <= _GAP and all(x == 1 for x in p[k + 1 :]):
            return True
    return False


class _TreeBuilder:
    """Accepts candidates whose numbering continues the structure built so far."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.nodes: list[_Node] = []
        self.stack: list[int] = []
        self._reset_scope()
        self.any_clause = False

    def _reset_scope(self) -> None:
        self.last_numeric: tuple[int, ...] | None = None
        self.last_numeric_anchor: int | None = -2
        self.top_style: str | None = None  # how the last one-number clause was written
        self.last_ranked: dict[str, int] = {}
        self.restart_ok: dict[str, bool] = {}
        self.seen_special: set[str] = set()
        self.scope_has_clause = False

    # -- helpers
    def _push(self, c: _Cand, parent: int | None, label: str, norm: str) -> int:
        level = 0 if parent is None else self.nodes[parent].level + 1
        self.nodes.append(_Node(c, parent, label, norm, level))
        idx = len(self.nodes) - 1
        self.stack.append(idx)
        return idx

    def _pop_to(self, parent: int | None) -> None:
        while self.stack and self.stack[-1] != parent:
            self.stack.pop()

    def _scope_root(self) -> int | None:
        for idx in self.stack:
            if self.nodes[idx].cand.family == "container":
                return idx
        return None

    def _close_specials(self) -> None:
        for pos, idx in enumerate(self.stack):
            if self.nodes[idx].cand.family == "special":
                del self.stack[pos:]
                return

    # -- families
    def add(self, c: _Cand) -> bool:
        f = c.family
        if f == "container":
            return self._container(c)
        if f == "special":
            return self._special(c)
        if f == "ranked":
            return self._ranked(c)
        if f == "numeric":
            return self._numeric(c)
        return self._enum(c)

    def _container(self, c: _Cand) -> bool:
        if not self.any_clause or c.norm in self.seen_special:
            return False
        if c.anchor != "line" and not c.heading:
            return False
        rest = self.text[c.heading_end : c.line_end]
        if len(rest.strip()) > 0 and c.line_end - c.start > 120 and c.anchor == "line" and not c.heading:
            return False
        seen = {self.nodes[i].norm for i in range(len(self.nodes)) if self.nodes[i].cand.family == "container"}
        if c.norm in seen:
            return False
        self.stack.clear()
        self._reset_scope()
        self._push(c, None, c.label, c.norm)
        return True

    def _special(self, c: _Cand) -> bool:
        root = self._scope_root()
        if c.kind == "execution":
            if not self.scope_has_clause or "signatures" in self.seen_special:
                return False
        elif c.kind == "toc":
            pass
        else:
            if self.scope_has_clause or c.norm in self.seen_special:
                return False
        self.seen_special.add(c.norm)
        self._pop_to(root)
        self._push(c, root, c.label, c.norm)
        return True

    def _ranked(self, c: _Cand) -> bool:
        last = self.last_ranked.get(c.kind)
        v = c.value
        ok = (last is None and 1 <= v <= _GAP) or (last is not None and 1 <= v - last <= _GAP)
        ok = ok or (v == 1 and self.restart_ok.get(c.kind, False))
        if not ok:
            return False
        self._close_specials()
        root = self._scope_root()
        while self.stack and self.stack[-1] != root:
            top = self.nodes[self.stack[-1]].cand
            if top.family == "ranked" and top.rank < c.rank:
                break
            self.stack.pop()
        parent = self.stack[-1] if self.stack else None
        self._push(c, parent, c.label, c.norm)
        self.last_ranked[c.kind] = v
        self.restart_ok[c.kind] = False
        for k, r in _RANKS.items():
            if r > c.rank:
                self.restart_ok[k] = True
        self.scope_has_clause = self.any_clause = True
        return True

    def _numeric(self, c: _Cand) -> bool:
        p = c.path
        self._close_specials()
        # deepest open node whose number is a proper prefix of p
        prefix_pos = None
        for pos in range(len(self.stack) - 1, -1, -1):
            n = self.nodes[self.stack[pos]]
            if n.cand.family not in ("numeric", "ranked", "enum"):
                break
            np = n.cand.path
            if n.cand.family != "enum" and np and len(np) < len(p) and p[: len(np)] == np:
                prefix_pos = pos
                break
        # otherwise: the node the current run of numbered clauses hangs from
        i, lowest = len(self.stack) - 1, None
        while i >= 0 and self.nodes[self.stack[i]].cand.family in ("numeric", "enum"):
            if self.nodes[self.stack[i]].cand.family == "numeric":
                lowest = i
            i -= 1
        if lowest is not None:
            run_pos = lowest - 1
        else:  # a new run: it nests in a major item ("一、", "A.") but closes minor ones ("(c)")
            run_pos = len(self.stack) - 1
            while run_pos >= 0 and self.nodes[self.stack[run_pos]].cand.family == "enum":
                if self.nodes[self.stack[run_pos]].cand.interps[0][0] in _MAJOR_ITEM_STYLES:
                    break
                run_pos -= 1
        anchor_idx = self.stack[run_pos] if run_pos >= 0 else None
        ok = _plausible_numeric(p, self.last_numeric)
        if ok and len(p) == 1 and self.top_style is not None and c.style != self.top_style:
            ok = False  # "3." then "4 Widgets Ltd": siblings are written alike
        if not ok and all(x == 1 for x in p) and anchor_idx != self.last_numeric_anchor:
            ok = True  # a fresh run under a new parent
        if not ok and prefix_pos is not None:
            np = self.nodes[self.stack[prefix_pos]].cand.path
            ok = (
                self.nodes[self.stack[prefix_pos]].cand.family == "ranked"
                and 1 <= p[len(np)] <= _GAP
                and all(x == 1 for x in p[len(np) + 1 :])
            )
        if not ok:
            return False
        parent_pos = prefix_pos if prefix_pos is not None else run_pos
        parent = self.stack[parent_pos] if parent_pos >= 0 else None
        self._pop_to(parent)
        self._push(c, parent, c.label, c.norm)
        # the non-numeric node this run of numbered clauses hangs from
        a = parent
        while a is not None and self.nodes[a].cand.family == "numeric":
            a = self.nodes[a].parent
        self.last_numeric = p
        self.last_numeric_anchor = a
        if len(p) == 1:
            self.top_style = c.style
        self.scope_has_clause = self.any_clause = True
        return True

    def _enum(self, c: _Cand) -> bool:
        i = len(self.stack) - 1
        while i >= 0 and self.nodes[self.stack[i]].cand.family == "enum":
            e = self.nodes[self.stack[i]]
            style, val = e.cand.interps[0][0], e.cand.interps[0][1]
            for s, v, tok in c.interps:
                if s == style and 1 <= v - val <= 2:
                    self._pop_to(self.stack[i - 1] if i > 0 else None)
                    if i == 0:
                        self.stack.clear()
                    self._push_enum(c, (s, v, tok))
                    return True
            i -= 1
        chain = {self.nodes[self.stack[j]].cand.interps[0][0] for j in range(i + 1, len(self.stack))}
        for s, v, tok in sorted(c.interps, key=lambda x: "roman" not in x[0]):
            if v == 1 and s not in chain:
                self._push_enum(c, (s, v, tok))
                return True
        return False

    def _push_enum(self, c: _Cand, interp: tuple[str, int, str]) -> None:
        c.interps = (interp,)
        parent = self.stack[-1] if self.stack else None
        tok = interp[2]
        pn = self.nodes[parent] if parent is not None else None
        if pn is not None and pn.cand.family in ("numeric", "ranked", "enum"):
            norm = f"{pn.norm}.{tok}"
            printed = c.label
            if interp[0].startswith("cn"):
                label = pn.label + printed.rstrip("、．.")
            else:
                tok = interp[2] if interp[0].endswith("digit") else printed.strip("().").strip("（）")
                label = f"{pn.label}({tok})"
        else:
            norm = tok
            label = c.label
        self._push(c, parent, label, norm)


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


def _finish(text: str, nodes: list[_Node], toc_ends: dict[int, int]) -> list[Clause]:
    """Compute spans (a clause ends where the next non-descendant starts) and build Clauses."""
    n = len(nodes)
    ends = [len(text)] * n
    open_: list[int] = []
    for i, node in enumerate(nodes):
        ancestors = set()
        a = node.parent
        while a is not None:
            ancestors.add(a)
            a = nodes[a].parent
        while open_ and open_[-1] not in ancestors:
            ends[open_.pop()] = node.cand.start
        open_.append(i)
    out: list[Clause] = []
    for i, node in enumerate(nodes):
        c = node.cand
        end = ends[i]
        if c.kind == "toc":
            end = min(end, toc_ends[c.start])
        while end > c.start and text[end - 1].isspace():
            end -= 1
        out.append(
            Clause(
                label=node.label,
                norm=node.norm,
                kind=c.kind,
                heading=c.heading,
                start=c.start,
                end=max(end, c.label_end if c.kind != "toc" else end),
                parent=node.parent,
                level=node.level,
            )
        )
    # a parent never ends before its last descendant
    for i in range(n - 1, -1, -1):
        p = out[i].parent
        if p is not None and out[p].end < out[i].end:
            out[p].end = out[i].end
    return out
