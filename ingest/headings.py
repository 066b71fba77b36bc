"""Heading candidates: the anchor and heading regexes, the candidate and node records, and
the helpers that read a heading's title and check what follows a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.numbering import _CN_NUM, _NUMID, _WORDNUM_RE


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
