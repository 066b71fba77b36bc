"""Questions about the contract's own date, answered from where the contract states it.

"What is the date of this agreement?" and "When does the contract become effective?" ask for
one fact written once, at the top ("entered into as of March 1, 2019") or where a date is
defined ("June 1, 2005 (the "Effective Date")"). Elsewhere the contract only refers to it
("as of the date first written above", "on the Effective Date"), and those references share
the question's words, so similarity ranks them above the date itself. Like a clause asked for
by its number, such a question is answered by reading the document: the date's span
(:func:`ingest.dates.document_date`, the rule the review grid's date columns cite; an effective
date only where the contract words it so) is put first, inside the chunk that holds it, and
search ranks the rest as usual.

English and Chinese questions are recognised, and only questions that ask for the document's
own date: a termination, renewal, payment or notice date, a deadline, a date used as a reference
point ("within 30 days of the effective date") or a question that itself gives a date is
searched for like anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Literal

from ingest.dates import document_date
from rag.documents import StoredChunk
from rag.retrieve.hits import Hit

DateKind = Literal["agreement", "effective"]

_NOUNS = r"contract|agreement|document|lease|licen[cs]e|deed|amendment|addendum|memorandum|mou|nda|instrument|letter"
#: words that name the document itself ("it" / "this": the document the question is about)
_DOCUMENT = rf"(?:{_NOUNS}|it|this)"
_SUFFIXES = ("Inc", "LLC", "Ltd", "Corp", "Corporation", "GmbH", "plc", "Co", "LP", "LLP", "SA", "AG", "NV", "BV")
#: a run of capitalised words ending in a document noun or a company suffix: a title or a party
#: ("the Termination Agreement", "Acme Shipping LLC"), whose words say nothing about the date
_TITLE = re.compile(r"(?<=\s)(?:[A-Z][\w&'’.-]*\s+)+(?P<noun>(?i:" + _NOUNS + r")\b|(?:"
                    + "|".join(_SUFFIXES) + r")\b\.?)")
#: another date the question may be about: never answered with the contract's own date
_OTHER_DATE = re.compile(
    r"\b(?:terminat\w*|expir\w*|renew\w*|deliver\w*|pay\w*|paid|due|deadline|notice|closing|ship\w*|invoice\w*|"
    r"anniversar\w*|term\s+ends?|end\s+date|last\s+day|launch\w*|milestone\w*|birth\w*|filing|filed|"
    r"initial\s+term|extension|extended|cutoff|cut-off)\b"
    # the date as a reference point, not the thing asked for
    r"|\b(?:after|before|from|within|following|since|until|till|prior\s+to|on|by|of)\s+(?:the\s+|its\s+)?"
    r"(?:effective|commencement|signing|execution)\s+date\b"
    # another document than the one asked about
    r"|\b(?:underlying|referenced|other|prior|previous|original|related|ancillary|last|latest|first|second|each|"
    rf"any|every|such|new)\s+(?:\w+\s+)?(?:{_NOUNS})\b"
    rf"|\b(?:{_NOUNS})\s+(?:referenced|referred\s+to|mentioned|described|attached|listed|identified|set\s+out)\b",
    re.I)
#: a question that gives a date names a document by it ("the agreement dated March 1, 2019")
_GIVES_DATE = re.compile(r"\b(?:19|20)\d\d\b")
#: a requirement ("when must it be signed") asks for a deadline, not the date it bears
_MUST = re.compile(r"\b(?:must|should|needs?\s+to|have\s+to|has\s+to|required|latest)\b", re.I)
_WHEN = re.compile(r"\b(?:when|date|dated|day|year|since)\b", re.I)
_EFFECTIVE = re.compile(
    r"\b(?:effective\s+date|commencement\s+date|start\s+date)\b"
    rf"|\b{_DOCUMENT}\b.{{0,40}}\b(?:effective|binding|in(?:to)?\s+(?:force|effect)|start|starts|begin|begins|"
    r"commence|commences)\b"
    rf"|\b{_DOCUMENT}\b.{{0,40}}\b(?:takes?|took|comes?|came|goes?|went)\s+(?:into\s+)?effect\b",
    re.I)
_AGREEMENT = re.compile(
    rf"\bdate\s+(?:of|for|on)\s+(?:the\s+|this\s+|that\s+)?{_DOCUMENT}\b"
    rf"|\b{_DOCUMENT}(?:'s|’s)?\s+date\b|\bits\s+date\b"
    r"|\b(?:execution|signing|signature)\s+date\b|\bdate\s+of\s+(?:execution|signing|signature)\b"
    rf"|\b(?:{_NOUNS}|it|this|parties)\b.{{0,40}}\b(?:dated|signed|sign|executed|execute|entered\s+into|"
    r"enter\s+into|made|concluded)\b"
    rf"|\b(?:dated|signed|executed|entered\s+into)\b.{{0,40}}\b(?:this|the)\s+{_DOCUMENT}\b",
    re.I)

#: the same questions in Chinese: 生效日期 / 何时生效 (effective), 签订日期 / 合同日期 (agreement)
_ZH_OTHER = re.compile(r"终止|解除|到期|届满|续期|续约|付款|支付|交付|交货|通知|之前|以后|之后|以内")
_ZH_EFFECTIVE = re.compile(r"生效(?:日期|时间|日)|(?:何时|什么时候|哪天|哪一天)(?:开始)?生效")
_ZH_AGREEMENT = re.compile(r"(?:签订|签署|签约|订立)(?:日期|时间|日)|(?:合同|协议)(?:的)?(?:日期|落款日)"
                           r"|(?:何时|什么时候|哪天|哪一天)(?:签订|签署|签约|订立)")


def _plain(question: str) -> str:
    """``question`` with titles and party names reduced to "agreement" / "party"."""
    return _TITLE.sub(lambda m: "party" if m.group("noun").rstrip(".") in _SUFFIXES else "agreement", question)


def asked_date(question: str) -> DateKind | None:
    """``"effective"`` or ``"agreement"`` when ``question`` asks for the document's own date, else ``None``."""
    if _ZH_EFFECTIVE.search(question) or _ZH_AGREEMENT.search(question):
        if _ZH_OTHER.search(question):
            return None
        return "effective" if _ZH_EFFECTIVE.search(question) else "agreement"
    q = _plain(question)
    if not _WHEN.search(q) or _OTHER_DATE.search(q) or _GIVES_DATE.search(q):
        return None
    if _EFFECTIVE.search(q):
        return "effective"
    if _AGREEMENT.search(q) and not _MUST.search(q):
        return "agreement"
    return None


def date_hits(question: str, documents: Sequence[int], text: Callable[[int], str],
              chunks: Callable[[int], list[StoredChunk]],
              pages: Callable[[int, int, int], tuple[int, int] | None]) -> list[Hit]:
    """For a question about the document's own date: each document's date as a hit (its span
    inside the chunk that holds it), in the order of ``documents``; nothing otherwise.

    A date that a chunk boundary cuts is left to search: half a date cited first misleads."""
    kind = asked_date(question)
    if kind is None:
        return []
    hits: list[Hit] = []
    for doc_id in dict.fromkeys(documents):
        span = document_date(text(doc_id), kind, worded=True)
        if span is None:
            continue
        s, e = span
        holder = next((c for c in chunks(doc_id) if c.start <= s and e <= c.end), None)
        if holder is None:
            continue
        hits.append(Hit(holder, 1.0, {"fact": 1.0}, via="fact", span=(s, e), span_pages=pages(doc_id, s, e),
                        span_clause=holder.clause))
    return hits
