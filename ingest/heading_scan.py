"""The scanner that finds heading candidates at anchors (line starts, wide gaps, sentence
ends) and reads their numbering; the tree builder decides which ones are headings.
"""

from __future__ import annotations

import heapq
import re

from ingest.numbering import (
    _CN_CONTAINER_NS,
    _CN_UNIT_NS,
    _REF_KEYWORDS,
    _SPECIAL_NORMS,
    _id_value,
    _norm_id_token,
    _norm_numeric,
    cn_to_int,
    letter_to_int,
    roman_to_int,
)
from ingest.headings import (
    _ABBREV_RE,
    _CN_CONTAINER_RE,
    _CN_DIGIT_ITEM_RE,
    _CN_HEAD_RE,
    _CN_ITEM_RE,
    _CN_REF_FOLLOWERS,
    _CONTAINER_RE,
    _Cand,
    _ENUM_CLOSE_DIGIT_RE,
    _ENUM_DOT_RE,
    _ENUM_PAREN_RE,
    _GAP_ANCHOR_RE,
    _KW_HEAD_RE,
    _LINE_ANCHOR_RE,
    _NUM_HEAD_RE,
    _RANKS,
    _SENT_ANCHOR_RE,
    _SPECIAL_RE,
    _extract_heading,
    _follow_ok,
    _line_bounds,
)


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
