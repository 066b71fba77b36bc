"""PDF geometry: matrices, user space to viewer space, and font metrics (glyph advances).

Run widths come from the font as pypdf parses it (the 14 core fonts, ``/Widths``, CID ``/W``
and ``/ToUnicode``), so no second PDF library is needed for line boxes.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ingest.canonical import HAN

_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)


def _mult(m: tuple[float, ...] | list[float], n: tuple[float, ...] | list[float]) -> tuple[float, ...]:
    """``m × n`` for PDF matrices ``[a b c d e f]`` (row-vector convention, as in the spec)."""
    return (
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    )


def _matrix(value: Any) -> tuple[float, ...]:
    try:
        m = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return _IDENTITY
    return m if len(m) == 6 else _IDENTITY


def page_to_view(page: Any) -> Callable[[float, float], tuple[float, float]]:
    """Map PDF user space to viewer space: points from the crop box's displayed top-left corner.

    A viewer shows the crop box turned clockwise by ``/Rotate``; ``y`` grows downwards.
    """
    box = page.cropbox
    left, right = sorted((float(box.left), float(box.right)))
    bottom, top = sorted((float(box.bottom), float(box.top)))
    rotation = int(page.rotation or 0) % 360
    if rotation == 90:
        return lambda x, y: (y - bottom, x - left)
    if rotation == 180:
        return lambda x, y: (right - x, y - bottom)
    if rotation == 270:
        return lambda x, y: (top - y, right - x)
    return lambda x, y: (x - left, top - y)


@dataclass(frozen=True)
class _FontMetrics:
    widths: dict[str, float]  # character -> advance in em
    default: float
    ascent: float  # em, above the baseline
    descent: float  # em, below the baseline (negative)

    def width(self, text: str) -> float:
        w = self.widths
        d = self.default
        return sum(w.get(c, 1.0 if HAN.match(c) else d) for c in text)


_FALLBACK_METRICS = _FontMetrics({" ": 0.25}, 0.5, 0.75, -0.22)


def _font_metrics(font: Any) -> _FontMetrics:
    """Glyph advances by character, from pypdf's font parser (it knows the 14 core fonts'
    metrics, /Widths, CID /W arrays and /ToUnicode), else from /Widths directly."""
    if font is None:
        return _FALLBACK_METRICS
    try:
        from pypdf.generic._font import Font  # pypdf >= 6; private, hence the fallback below

        f = Font.from_font_resource(font)
        cmap = f.character_map or {}
        enc = f.encoding if isinstance(f.encoding, dict) else {}
        widths: dict[str, float] = {}
        for code, w in f.character_widths.items():
            if code == "default" or not isinstance(w, (int, float)):
                continue
            ch = cmap.get(code)
            if ch is None:
                ch = enc.get(ord(code), code) if len(code) == 1 else code
            if isinstance(ch, str) and w > 0:
                widths.setdefault(ch, w / 1000)
        if f.space_width and " " not in widths:
            widths[" "] = f.space_width / 1000
        default = f.character_widths.get("default", 500) / 1000
        fd = f.font_descriptor
        return _FontMetrics(widths, default or 0.5, *_vertical(fd.ascent, fd.descent))
    except Exception:  # noqa: BLE001 - an unusual font must not cost the page its text
        return _metrics_from_widths(font)


def _metrics_from_widths(font: Any) -> _FontMetrics:
    try:
        first = int(font.get("/FirstChar", 0))
        ws = [float(w) for w in font.get("/Widths", [])]
        widths = {chr(first + i): w / 1000 for i, w in enumerate(ws) if w > 0}
        default = statistics.fmean(widths.values()) if widths else 0.5
        desc = font.get("/FontDescriptor")
        desc = desc.get_object() if desc is not None else {}
        asc, dsc = _vertical(desc.get("/Ascent", 750), desc.get("/Descent", -220))
        return _FontMetrics(widths, default, asc, dsc)
    except Exception:  # noqa: BLE001
        return _FALLBACK_METRICS


def _vertical(ascent: Any, descent: Any) -> tuple[float, float]:
    """Ascent/descent in em, clamped: some fonts declare 0 or absurd values."""
    try:
        a, d = float(ascent) / 1000, float(descent) / 1000
    except (TypeError, ValueError):
        return 0.75, -0.22
    a = a if 0.5 <= a <= 1.2 else 0.75
    d = d if -0.5 <= d <= 0 else -0.22
    if d == 0:
        d = -0.2
    return a, d
