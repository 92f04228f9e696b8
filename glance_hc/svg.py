"""Inline SVG charts for the html report: built as elements, every attribute and text escaped.

No string of markup is ever pasted together from values: an `El` has a tag and
attribute names from this module's code (checked), and attribute values and
text from anywhere (a store name from a remote config included), escaped when
rendered. The charts need no script, font or file from outside the page.
"""
from __future__ import annotations

import datetime
import html
import re

_NAME = re.compile(r"^[a-zA-Z][a-zA-Z0-9:_-]*$")

PALETTE = ("#1565c0", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f", "#ad1457", "#4e342e", "#546e7a")
ALERT_COLOUR = "#c62828"
FONT = "DejaVu Sans, Liberation Sans, Arial, sans-serif"


def esc(value) -> str:
    return html.escape("" if value is None else str(value), quote=True)


class El:
    """One element; children are elements or text (text is escaped)."""

    def __init__(self, tag: str, attrs: dict | None = None, *children):
        for name in (tag, *(attrs or {})):
            if not _NAME.match(name):
                raise ValueError(f"not an svg name: {name!r}")
        self.tag, self.attrs, self.children = tag, dict(attrs or {}), list(children)

    def add(self, *children) -> El:
        self.children.extend(children)
        return self

    def render(self) -> str:
        attrs = "".join(f' {name}="{esc(_num(value))}"' for name, value in self.attrs.items() if value is not None)
        inner = "".join(c.render() if isinstance(c, El) else esc(c) for c in self.children)
        return f"<{self.tag}{attrs}>{inner}</{self.tag}>"


def _num(value):
    return f"{value:.1f}".rstrip("0").rstrip(".") if isinstance(value, float) else value


def _text(x, y, content, size=12, anchor="start", colour="#222", weight=None) -> El:
    return El("text", {"x": x, "y": y, "font-size": size, "text-anchor": anchor, "fill": colour,
                       "font-family": FONT, "font-weight": weight}, content)


def _svg(width: int, height: int, title: str, chart_id: str | None = None) -> El:
    root = El("svg", {"xmlns": "http://www.w3.org/2000/svg", "width": width, "height": height,
                      "viewBox": f"0 0 {width} {height}", "role": "img", "class": "hc-chart",
                      "data-chart": chart_id})
    root.add(El("title", {}, title), El("rect", {"x": 0, "y": 0, "width": width, "height": height, "fill": "#fff"}),
             _text(8, 18, title, size=14, weight="bold"))
    return root


def bar_chart(title: str, rows: list[tuple[str, list[tuple[str, float]]]], *, max_value: float,
              value_text, threshold: float | None = None, threshold_text: str = "",
              chart_id: str | None = None, label_width: int = 230, width: int = 760) -> str:
    """Horizontal bars: rows of (label, [(series name, value)]); one colour per series name."""
    names = []
    for _, bars in rows:
        names += [name for name, _ in bars if name not in names]
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(names)}
    bar_h, gap, top = 14, 8, 44
    per_row = max(1, max((len(bars) for _, bars in rows), default=1)) * bar_h + gap
    height = top + len(rows) * per_row + 24
    plot_w = width - label_width - 90
    scale = plot_w / max_value if max_value > 0 else 0
    svg = _svg(width, height, title, chart_id)
    x0 = label_width
    for i, name in enumerate(names if len(names) > 1 else []):  # legend
        svg.add(El("rect", {"x": x0 + 120 * i, "y": 26, "width": 10, "height": 10, "fill": colours[name]}),
                _text(x0 + 14 + 120 * i, 35, name, size=11))
    for r, (label, bars) in enumerate(rows):
        y = top + r * per_row
        svg.add(_text(x0 - 6, y + bar_h * len(bars) / 2 + 4, label, size=11, anchor="end"))
        for b, (name, value) in enumerate(bars):
            w = max(0.0, min(value, max_value) * scale)
            svg.add(El("rect", {"x": x0, "y": y + b * bar_h, "width": max(w, 1.0), "height": bar_h - 2,
                                "fill": colours[name], "class": "hc-bar"},
                       El("title", {}, f"{label} {name}: {value_text(value)}")),
                    _text(x0 + w + 4, y + b * bar_h + bar_h - 4, value_text(value), size=10))
    svg.add(El("line", {"x1": x0, "y1": top - 4, "x2": x0, "y2": height - 20, "stroke": "#888"}))
    if threshold is not None and max_value > 0:
        x = x0 + threshold * scale
        svg.add(El("line", {"x1": x, "y1": top - 6, "x2": x, "y2": height - 20, "stroke": ALERT_COLOUR,
                            "stroke-dasharray": "5,3", "stroke-width": 2, "class": "hc-threshold"}),
                _text(x, height - 6, threshold_text, size=11, anchor="middle", colour=ALERT_COLOUR))
    return svg.render()


def line_chart(title: str, series: list[tuple[str, list[tuple[float, float]]]], *, y_max: float,
               value_text, threshold: float | None = None, threshold_text: str = "",
               dashed: frozenset = frozenset(), x_end: float | None = None, chart_id: str | None = None,
               width: int = 370, height: int = 190) -> str:
    """Values over time (unix seconds); series named in `dashed` are drawn dashed (forecasts)."""
    points = [p for _, pts in series for p in pts]
    svg = _svg(width, height, title, chart_id)
    left, right, top, bottom = 66, 12, 30, 40
    if not points:
        svg.add(_text(width / 2, height / 2, "no data", anchor="middle", colour="#666"))
        return svg.render()
    t0 = min(t for t, _ in points)
    t1 = max(max(t for t, _ in points), x_end or t0)
    t1 = t1 if t1 > t0 else t0 + 1
    y_max = y_max if y_max > 0 else 1.0

    def x_of(t):
        return left + (t - t0) / (t1 - t0) * (width - left - right)

    def y_of(v):
        return top + (1 - max(0.0, min(v, y_max)) / y_max) * (height - top - bottom)

    for frac in (0.0, 0.5, 1.0):  # axis and grid
        y = y_of(frac * y_max)
        svg.add(El("line", {"x1": left, "y1": y, "x2": width - right, "y2": y, "stroke": "#ddd"}),
                _text(left - 4, y + 4, value_text(frac * y_max), size=10, anchor="end", colour="#555"))
    for t, anchor in ((t0, "start"), (t1, "end")):
        day = datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d")
        svg.add(_text(x_of(t), height - bottom + 14, day, size=10, anchor=anchor, colour="#555"))
    if threshold is not None:
        y = y_of(threshold)
        svg.add(El("line", {"x1": left, "y1": y, "x2": width - right, "y2": y, "stroke": ALERT_COLOUR,
                            "stroke-dasharray": "5,3", "class": "hc-threshold"}),
                _text(width - right, y - 3, threshold_text, size=10, anchor="end", colour=ALERT_COLOUR))
    legend_x = left
    for i, (name, pts) in enumerate(series):
        colour = PALETTE[i % len(PALETTE)]
        coords = " ".join(f"{x_of(t):.1f},{y_of(v):.1f}" for t, v in sorted(pts))
        attrs = {"points": coords, "fill": "none", "stroke": colour, "stroke-width": 1.6,
                 "class": "hc-series", "data-series": name}
        if name in dashed:
            attrs["stroke-dasharray"] = "6,4"
        svg.add(El("polyline", attrs, El("title", {}, name)))
        if len(pts) == 1:
            (t, v), = pts
            svg.add(El("circle", {"cx": x_of(t), "cy": y_of(v), "r": 2.5, "fill": colour}))
        svg.add(El("rect", {"x": legend_x, "y": height - 14, "width": 10, "height": 3, "fill": colour}),
                _text(legend_x + 13, height - 9, name, size=10))
        legend_x += 13 + 7 * len(name) + 14
    return svg.render()
