"""Tiny trend lines for case lists and digests, as PNG (Pillow) or SVG text; no matplotlib."""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import lru_cache

from PIL import Image, ImageDraw

# Grey levels: the sparkline is black on white, so a one-channel PNG is a third of the bytes.
LINE = 0
CUTOFF = 140
WIDTH, HEIGHT = 120, 30


def _points(
    values: Sequence[float], width: float, height: float, lo: float, hi: float, pad: float
) -> list[tuple[float, float]]:
    n = len(values)
    span = hi - lo or 1.0
    step = (width - 2 * pad) / (n - 1) if n > 1 else 0.0
    x0 = pad if n > 1 else width / 2
    return [
        (x0 + i * step, pad + (height - 2 * pad) * (1 - (min(max(v, lo), hi) - lo) / span))
        for i, v in enumerate(values)
    ]


def _y(value: float, height: float, lo: float, hi: float, pad: float) -> float:
    return pad + (height - 2 * pad) * (1 - (value - lo) / ((hi - lo) or 1.0))


@lru_cache(maxsize=32768)
def _png(
    values: tuple[float, ...],
    cutoff: float | None,
    width: int,
    height: int,
    scale: int,
    lo: float,
    hi: float,
) -> bytes:
    w, h = width * scale, height * scale
    image = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(image)
    pad = 3.0 * scale
    if cutoff is not None:
        y = _y(cutoff, h, lo, hi, pad)
        dash = 4 * scale
        for start in range(0, w, dash * 2):  # Pillow has no dashed lines: short segments
            draw.line(
                [(start, y), (min(start + dash, w), y)], fill=CUTOFF, width=max(1, scale // 2)
            )
    if values:
        pts = _points(values, w, h, lo, hi, pad)
        if len(pts) > 1:
            draw.line(pts, fill=LINE, width=int(1.5 * scale), joint="curve")
        last_x, last_y = pts[-1]
        r = 2.2 * scale
        draw.ellipse([(last_x - r, last_y - r), (last_x + r, last_y + r)], fill=LINE)
    buf = io.BytesIO()
    # Level 1: a sparkline is a few flat runs of grey, and digests encode thousands of them.
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def sparkline_png(
    values: Sequence[float],
    *,
    cutoff: float | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    scale: int = 2,
    lo: float = 0.0,
    hi: float = 40.0,
) -> bytes:
    """A trend of totals as PNG, drawn at `scale` x the CSS size for sharp high-dpi screens.

    Results are cached by value: many cases share a shape, and digests render thousands.
    """
    return _png(tuple(round(v, 2) for v in values), cutoff, width, height, scale, lo, hi)


def sparkline_svg(
    values: Sequence[float],
    *,
    cutoff: float | None = None,
    width: int = WIDTH,
    height: int = HEIGHT,
    lo: float = 0.0,
    hi: float = 40.0,
    title: str | None = None,
) -> str:
    """A trend of totals as an inline SVG element (no scripts, no external references)."""
    pad = 3.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">'
    ]
    if title:
        safe = title.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        parts.append(f"<title>{safe}</title>")
    if cutoff is not None:
        y = _y(cutoff, height, lo, hi, pad)
        parts.append(
            f'<line class="cutoff" x1="0" y1="{y:.1f}" x2="{width}" y2="{y:.1f}" '
            'stroke="#6b6b6b" stroke-width="1" stroke-dasharray="4 4"/>'
        )
    if values:
        pts = _points(values, width, height, lo, hi, pad)
        if len(pts) > 1:
            coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="#000" stroke-width="1.5" '
                'stroke-linejoin="round"/>'
            )
        x, y = pts[-1]
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.2" fill="#000"/>')
    parts.append("</svg>")
    return "".join(parts)
