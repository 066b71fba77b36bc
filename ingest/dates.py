"""Date expressions in contract text, and the contract's own date (agreement or effective date).

A review cell or a chat answer asking for a contract's date should quote the date, not the
400-character preamble around it (CUAD marks "March 1, 2010" or "the 15th day of June, 2020",
and so does a reviewer). This finds the
usual written forms: ``March 1, 2010``, ``1 March 2010``, ``the 1st day of March, 2010``,
``March 2010``, ``03/01/2010``, ``2010-03-01``, ``2010年3月1日``, and the blanks of an undated template
(``the ___ day of ________, 2005``). Spans are half-open offsets into the text given.
"""

from __future__ import annotations

import re

_MONTH = (r"(?:Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|July?|Aug(?:ust|\.)?|"
          r"Sep(?:t(?:ember|\.)?|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|Dec(?:ember|\.)?)")
_DAY = r"(?:[0-3]?\d(?:st|nd|rd|th)?|_{2,}|\[\s*_*\s*\]|\[?\s*●\s*\]?)"
_YEAR = r"(?:(?:19|20)\d\d|\d\d\b|_{2,}|\[\s*_*\s*\])"
_SP = r"[^\S\n]*\n?[^\S\n]*"  # spaces, at most one line break
_SEP = rf"{_SP},?{_SP}"
_PATTERNS = [
    # the 1st day of March, 2010 / this ___ day of ______, 2005 / this  day of , 2012 (blanks dropped)
    rf"(?:the\s+|this\s+)?(?:{_DAY}{_SP})?day\s+of{_SP}(?:{_MONTH}|_{{2,}})?{_SEP}(?:in\s+the\s+year\s+)?{_YEAR}",
    # an undated template: ___________ __, 2000 / [___], 2020
    rf"(?:_{{2,}}|\[[\s_]*\])(?:\s*{_DAY})?{_SEP}(?:19|20)\d\d",
    # March 1, 2010 / March 1st 2010 / March ___, 2010
    rf"{_MONTH}{_SP}{_DAY}{_SEP}{_YEAR}",
    # 1 March 2010 / 1st March, 2010
    rf"{_DAY}{_SP}{_MONTH}{_SEP}{_YEAR}",
    # March 2010
    rf"{_MONTH}{_SEP}(?:19|20)\d\d",
    # 03/01/2010, 3-1-10, 2010-03-01
    r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d\d\b",
    r"\b(?:19|20)\d\d-\d\d-\d\d\b",
    # 2023年5月2日 / 2023 年 5 月 (Chinese, Japanese)
    r"(?:19|20)\d\d\s*年\s*[01]?\d\s*月(?:\s*[0-3]?\d\s*日)?",
]
_DATE = re.compile("|".join(f"(?:{p})" for p in _PATTERNS), re.IGNORECASE)


def find_dates(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """The date expressions inside ``text[start:end]``, in order, as offsets into ``text``."""
    end = len(text) if end is None else end
    out = []
    for m in _DATE.finditer(text, start, end):
        s, e = m.span()
        if not re.search(r"\d|_", text[s:e]):  # a month name alone ("may") is no date
            continue
        out.append((s, e))
    return out


#: the contract's own dates. Each is written once at the top (preamble or title block) or defined
#: once ("... (the "Effective Date")") and referred to elsewhere ("as of the date first written
#: above", "has the meaning set forth in the preamble"), so the sentence that best matches a
#: question about it is often a reference to the date rather than the date: CUAD dev, 64
#: contracts, review cells ranked by similarity cited text overlapping the gold Agreement Date 51%
#: of the time, Effective Date 43%.
DATE_KINDS = frozenset({"agreement", "effective"})
_DEFINED_EFFECTIVE = re.compile(r"\s*\(?\s*(?:the\s+|this\s+)?[\"“]\s*(?:Agreement\s+)?Effective\s+Date", re.I)


def _furniture(text: str, at: int) -> bool:
    """Whether the line holding ``at`` repeats on many pages (a filing footer, a running header)."""
    ls = text.rfind("\n", 0, at) + 1
    le = text.find("\n", at)
    line = text[ls: len(text) if le < 0 else le].strip()
    return bool(line) and text.count(line) >= 3


#: how far before an "Effective Date" (or past ``head_chars``) dates are looked for: the regex
#: backtracks through long runs of spaces, so scanning a whole filing took seconds a column
_LOOKBACK = 400
_EFFECTIVE_WORDS = re.compile(r"Effective\s+Date", re.I)
#: ``worded``: "effective" within this many characters before a head date
_WORDED_CHARS = 100
_EFFECTIVE_BEFORE = re.compile(r"effective|生效", re.I)


def document_date(text: str, kind: str, head_chars: int = 3000, *, worded: bool = False) -> tuple[int, int] | None:
    """The span of the contract's own ``kind`` of date (one of :data:`DATE_KINDS`), if it has one.

    ``"effective"``: a date defined as such (``June 1, 2005 (the "Effective Date")``) wherever it
    is; otherwise (and for ``"agreement"``) the first date in the first ``head_chars`` characters
    that is not on a repeated header/footer line. With ``worded``, an effective date found in the
    head must have "effective" written just before it ("effective as of March 1, 2019"): a
    contract that takes effect on a closing or a condition is not given its signing date. That
    is what a chat answer quotes first; on CUAD dev's effective-date questions it was right 86%
    of the time it answered against 65% without (for the 323 contracts the rule was not written
    on; it answers 52% of them instead of 87%). Only the text just before each "Effective Date"
    and the head are scanned (the same dates as a whole-text scan, in a fraction of the time).
    """
    if kind not in DATE_KINDS:
        raise ValueError(f"kind must be one of {sorted(DATE_KINDS)}, not {kind!r}")
    if kind == "effective":
        for m in _EFFECTIVE_WORDS.finditer(text):
            for s, e in find_dates(text, max(0, m.start() - _LOOKBACK), m.start()):
                if _DEFINED_EFFECTIVE.match(text, e, min(len(text), e + 40)) and not _furniture(text, s):
                    return s, e
    for s, e in find_dates(text, 0, min(len(text), head_chars + _LOOKBACK)):
        if s >= head_chars:
            break
        if _furniture(text, s):
            continue
        if worded and kind == "effective" and not _EFFECTIVE_BEFORE.search(text, max(0, s - _WORDED_CHARS), s):
            continue
        return s, e
    return None
