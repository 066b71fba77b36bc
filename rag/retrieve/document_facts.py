"""Questions about the contract's own date, answered from where the contract states it.

"What is the date of this agreement?" and "When does the contract become effective?" ask for
one fact written once, at the top ("entered into as of March 1, 2019") or where a date is
defined ("June 1, 2005 (the "Effective Date")"). Elsewhere the contract only refers to it
("as of the date first written above", "on the Effective Date"), and those references share
the question's words, so similarity ranks them above the date itself. Like a clause asked for
by its number, such a question is answered by reading the document: the date's span
(:func:`ingest.dates.document_date`, the same rule the review grid's date columns cite) is
put first, inside the chunk that holds it, and search ranks the rest as usual.

English and Chinese questions are recognised, and only questions about the document's own date:
a termination, renewal, payment or notice date is searched for like anything else.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ingest.dates import document_date
from rag.documents import StoredChunk
from rag.retrieve.hits import Hit

#: words that name the document itself
_DOCUMENT = (r"(?:contract|agreement|document|lease|licen[cs]e|deed|amendment|addendum|memorandum|mou|nda|"
             r"instrument|letter)")
#: another date the question may be about: never answered with the contract's own date
_OTHER_DATE = re.compile(
    r"\b(?:terminat\w*|expir\w*|renew\w*|deliver\w*|pay\w*|paid|due|deadline|notice|closing|ship\w*|invoice\w*|"
    r"anniversar\w*|term\s+ends?|end\s+date|last\s+day|launch\w*|milestone\w*|birth\w*|filing|filed|"
    r"initial\s+term|extension|extended|cutoff|cut-off)\b", re.I)
_WHEN = re.compile(r"\b(?:when|date|dated|day|since)\b", re.I)
_EFFECTIVE = re.compile(
    r"\b(?:effective\s+date|commencement\s+date|start\s+date)\b"
    rf"|\b{_DOCUMENT}\b.{{0,40}}\b(?:effective|in(?:to)?\s+(?:force|effect)|start|starts|begin|begins|commence|commences)\b"
    rf"|\b{_DOCUMENT}\b.{{0,40}}\b(?:takes?|took|comes?|came|goes?|went)\s+(?:into\s+)?effect\b",
    re.I)
_AGREEMENT = re.compile(
    rf"\bdate\s+(?:of|for|on)\s+(?:the\s+|this\s+|that\s+)?(?:\w+\s+){{0,3}}?{_DOCUMENT}\b"
    rf"|\b{_DOCUMENT}(?:'s|’s)?\s+date\b"
    rf"|\b{_DOCUMENT}\b.{{0,40}}\b(?:dated|signed|executed|entered\s+into|made|concluded)\b"
    r"|\b(?:dated|signed|executed|entered\s+into)\b.{0,40}\b(?:this|the)\s+" + _DOCUMENT + r"\b",
    re.I)


#: the same questions in Chinese: 生效日期 / 何时生效 (effective), 签订日期 / 合同日期 (agreement)
_ZH_OTHER = re.compile(r"终止|解除|到期|届满|续期|续约|付款|支付|交付|交货|通知")
_ZH_EFFECTIVE = re.compile(r"生效(?:日期|时间|日)|(?:何时|什么时候|哪天|哪一天)(?:开始)?生效")
_ZH_AGREEMENT = re.compile(r"(?:签订|签署|签约|订立)(?:日期|时间|日)|(?:合同|协议)(?:的)?(?:日期|落款日)"
                           r"|(?:何时|什么时候|哪天|哪一天)(?:签订|签署|签约|订立)")


def asked_date(question: str) -> str | None:
    """``"effective"`` or ``"agreement"`` when ``question`` asks for the document's own date, else ``None``."""
    if _ZH_EFFECTIVE.search(question) and not _ZH_OTHER.search(question):
        return "effective"
    if _ZH_AGREEMENT.search(question) and not _ZH_OTHER.search(question):
        return "agreement"
    if not _WHEN.search(question) or _OTHER_DATE.search(question):
        return None
    if _EFFECTIVE.search(question):
        return "effective"
    if _AGREEMENT.search(question):
        return "agreement"
    return None


def date_hits(question: str, documents: Sequence[int], text: Callable[[int], str],
              chunks: Callable[[int], list[StoredChunk]],
              pages: Callable[[int, int, int], tuple[int, int] | None]) -> list[Hit]:
    """For a question about the document's own date: each document's date as a hit (its span
    inside the chunk that holds it), in the order of ``documents``; nothing otherwise."""
    kind = asked_date(question)
    if kind is None:
        return []
    hits = []
    for doc_id in documents:
        span = document_date(text(doc_id), kind)
        if span is None:
            continue
        s, e = span
        holder = next((c for c in chunks(doc_id) if c.start <= s and e <= c.end), None)
        if holder is None:  # the date crosses a chunk boundary: cite what the holding chunk has
            holder = next((c for c in chunks(doc_id) if c.start <= s < c.end), None)
            if holder is None:
                continue
            e = holder.end
        hits.append(Hit(holder, 1.0, {"fact": 1.0}, via="fact", span=(s, e), span_pages=pages(doc_id, s, e),
                        span_clause=holder.clause))
    return hits
