"""An Agg canvas whose renderer keeps rasterised text between figures (graphs share labels)."""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag
from matplotlib.font_manager import FontProperties, fontManager, get_font

# Shaping and rasterising one label costs about a millisecond per call with FreeType here, and
# a progression graph draws some 30 labels that repeat from graph to graph (tick dates, legend
# entries, axis titles). Caching the bitmap per (text, font, dpi) makes a warm graph several
# times faster. The bitmap is placed on whole pixels, as matplotlib < 3.11 did.
_CACHE_SIZE = 4096
_hinting: Callable[[], Any] = get_hinting_flag
_Key = tuple[Any, ...]
_Entry = tuple[np.ndarray[Any, Any], float, float, float]  # image, x offset, y offset, descent
_Metrics = tuple[float, float, float]
_lock = threading.Lock()
_bitmaps: OrderedDict[_Key, _Entry] = OrderedDict()
_metrics: OrderedDict[_Key, _Metrics] = OrderedDict()
_Heights = tuple[float, float, float] | tuple[None, None, None]
_heights: OrderedDict[_Key, _Heights] = OrderedDict()


def _font_key(prop: FontProperties) -> tuple[Any, ...]:
    return (
        tuple(prop.get_family()),
        prop.get_style(),
        prop.get_variant(),
        prop.get_weight(),
        prop.get_stretch(),
        prop.get_size_in_points(),
        str(prop.get_file()),
        prop.get_math_fontfamily(),
    )


def _height_metrics(font: Any, size: float, dpi: float) -> _Heights:
    # As matplotlib 3.11's Text._get_layout computes them, operation for operation.
    for table_name, gap, ascent, descent in (
        ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
        ("hhea", "lineGap", "ascent", "descent"),
    ):
        table = font.get_sfnt_table(table_name)
        if table is not None:
            scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * size * dpi / 72
            return table[ascent] * scale, -table[descent] * scale, table[gap] * scale
    return None, None, None  # matplotlib then measures a sample text instead


def _remember(cache: OrderedDict[_Key, Any], key: _Key, value: Any) -> None:
    with _lock:
        cache[key] = value
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


class CachingRendererAgg(RendererAgg):
    """RendererAgg that reuses text metrics and bitmaps across renderers (thread-safe)."""

    def get_text_width_height_descent(
        self, s: str, prop: FontProperties, ismath: Any
    ) -> tuple[float, float, float]:
        """Text extent from the shared cache (mathtext and TeX go the usual way)."""
        if ismath:
            return cast(_Metrics, super().get_text_width_height_descent(s, prop, ismath))  # type: ignore[no-untyped-call]
        key = (s, _font_key(prop), self.dpi, str(_hinting()))
        found = _metrics.get(key)
        if found is None:
            found = super().get_text_width_height_descent(s, prop, ismath)  # type: ignore[no-untyped-call]
            _remember(_metrics, key, found)
        return found

    def _get_font_height_metrics(self, prop: FontProperties) -> _Heights:
        """Ascent, descent and line gap of the font, cached (the hook Text._get_layout calls).

        matplotlib 3.11 otherwise finds the font and reads two of its tables for every text
        laid out; the values are computed as it does, from OS/2 or else hhea.
        """
        key = (_font_key(prop), self.dpi)
        found = _heights.get(key)
        if found is None:
            font = get_font(fontManager._find_fonts_by_props(prop))
            found = _height_metrics(font, prop.get_size_in_points(), self.dpi)
            _remember(_heights, key, found)
        return found

    def draw_text(
        self,
        gc: Any,
        x: float,
        y: float,
        s: str,
        prop: FontProperties,
        angle: float,
        ismath: Any = False,
        mtext: Any = None,
    ) -> None:
        """Draw plain text from a cached bitmap; mathtext and TeX go the usual way."""
        if ismath:
            super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)  # type: ignore[no-untyped-call]
            return
        antialiased = bool(gc.get_antialiased())
        key = (s, _font_key(prop), self.dpi, antialiased, str(_hinting()))
        entry = _bitmaps.get(key)
        if entry is None:
            font = self._prepare_font(prop)  # type: ignore[no-untyped-call]
            font.set_text(s, 0, flags=_hinting())
            font.draw_glyphs_to_bitmap(antialiased=antialiased)
            xo, yo = font.get_bitmap_offset()
            image = np.array(font.get_image(), dtype=np.uint8, copy=True)
            entry = (image, xo / 64.0, yo / 64.0, font.get_descent() / 64.0)
            _remember(_bitmaps, key, entry)
        image, xo, yo, d = entry
        # The bitmap is unrotated; the descent moves with the angle (as in matplotlib 3.10).
        xd = d * math.sin(math.radians(angle))
        yd = d * math.cos(math.radians(angle))
        self._renderer.draw_text_image(
            image, round(x + xo + xd), round(y + yo + yd) + 1, angle, gc
        )


class CachingCanvasAgg(FigureCanvasAgg):
    """FigureCanvasAgg drawing with CachingRendererAgg; PNG output, vector formats unchanged."""

    def get_renderer(self) -> RendererAgg:
        """The renderer, reused while the figure's size and dpi stay the same."""
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = CachingRendererAgg(w, h, self.figure.dpi)  # type: ignore[no-untyped-call]
            self._lastKey = key
        return cast(RendererAgg, self.renderer)
