"""Canonical text: the one form every stored document's text takes, and where it came from.

Decoded text is canonicalised once (``\\n`` line ends, no control characters but ``\\t``);
every span downstream indexes that text. The canonicaliser knows each change it makes, so it
also returns the way back: :class:`OriginMap` turns canonical offsets into offsets of the text
it was given, without any alignment search (benchmarks score spans in the original files).
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

# Line breaks by Unicode's definition become "\n"; every other C0/C1 control except "\t" goes.
_LINE_BREAKS = re.compile("\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Both rules in one pass: a line break (group 1) becomes "\n", any other control is dropped.
_CHANGE = re.compile("(\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029])|[\x00-\x08\x0e-\x1b\x1f\x7f-\x84\x86-\x9f]")
HAN = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]")
_LETTER = re.compile(r"[^\W\d_]")


def clean_text(text: str) -> str:
    """Canonical form of decoded text: ``\\n`` line ends, no control characters but ``\\t``."""
    return CONTROL.sub("", _LINE_BREAKS.sub("\n", text))


def detect_language(text: str) -> str:
    """``"zh"`` when Han characters are the majority of the letters, else ``"en"``."""
    letters = len(_LETTER.findall(text))
    if not letters:
        return "en"
    return "zh" if len(HAN.findall(text)) * 2 > letters else "en"


@dataclass(frozen=True)
class OriginMap:
    """Canonical offset -> original offset, piecewise: from ``canon[i]`` on, text is copied
    unchanged from ``orig[i]`` until the next breakpoint."""

    canon: tuple[int, ...]
    orig: tuple[int, ...]
    canon_len: int
    orig_len: int

    def start(self, pos: int) -> int:
        """Original offset of the character at canonical ``pos`` (a span's start)."""
        if pos >= self.canon_len:
            return self.orig_len
        i = bisect.bisect_right(self.canon, pos) - 1
        return self.orig[i] + (pos - self.canon[i])

    def end(self, pos: int) -> int:
        """Original offset just after canonical character ``pos - 1`` (a span's end): dropped
        characters after a span's last one stay outside it."""
        return 0 if pos <= 0 else self.start(pos - 1) + 1 if pos <= self.canon_len else self.orig_len


def clean_text_with_origin(text: str) -> tuple[str, OriginMap]:
    """:func:`clean_text` and the map from its offsets back to ``text``'s.

    A line break of two characters (``\\r\\n``) maps its ``\\n`` to the ``\\r``; a dropped
    control character moves the next kept character's origin on.
    """
    out: list[str] = []
    canon, orig = [0], [0]
    size = last = 0
    for m in _CHANGE.finditer(text):
        a, b = m.span()
        out.append(text[last:a])
        size += a - last
        if m.group(1) is not None:
            out.append("\n")
            size += 1
        last = b
        if canon[-1] == size:  # nothing kept since the previous breakpoint: move it
            orig[-1] = b
        else:
            canon.append(size)
            orig.append(b)
    out.append(text[last:])
    clean = "".join(out)
    return clean, OriginMap(tuple(canon), tuple(orig), len(clean), len(text))
