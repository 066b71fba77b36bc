"""Clause-number reading and clause-id normalisation: roman, Chinese, word and letter
numerals, and ``normalise_clause_id`` (the id scheme is described in :mod:`ingest.structure`).
"""

from __future__ import annotations

import re
import unicodedata


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


# a Chinese clause id (第十二条第三款, 附件一); references.py finds them in running text
_CN_REF_RE = re.compile(
    r"第(?P<n>[" + _CN_NUM + r"\d]{1,7})(?P<u>条|條|章|节|節|编|編|部分|篇|款)"
    r"(?:第(?P<n2>[" + _CN_NUM + r"\d]{1,5})款)?(?:第(?P<n3>[" + _CN_NUM + r"\d]{1,5})项)?"
    r"|(?P<ckw>附件|附录|附錄|附表)[ \t\u3000]*(?P<cid>[" + _CN_NUM + r"\d]{1,3}|[A-Z])"
)


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
