"""Small server-side SVG charts: no script, no outside service, text escaped."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

PALETTE = ("#2e7d32", "#f9a825", "#c62828", "#1565c0", "#6a1b9a")
# The drawing is 400 units wide and shown at most 36rem (576 px) wide: on a 375 px phone it is
# about 340 px, so a 13-unit font is still 11 px on screen, and 16 px on a desktop.
WIDTH, FONT = 400, 13


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[str],
    title: str,
    width: int = WIDTH,
) -> Markup:
    """One horizontal bar per row, split into the series' parts, labelled with counts."""
    label_w, bar_h, gap, top = 120, 22, 6, 28
    plot_w = width - label_w - 44
    height = top + len(rows) * (bar_h + gap) + 10
    peak = max((sum(values) for _label, values in rows), default=0) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart" aria-label="{escape(title)}">'
    ]
    x: float = 0
    for i, name in enumerate(series):  # legend
        out.append(
            f'<rect x="{x}" y="5" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 16}" y="16" font-size="{FONT}">{escape(name)}</text>'
        )
        x += 16 + FONT * len(name) + 14
    for index, (label, values) in enumerate(rows):
        y = top + index * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 6}" font-size="{FONT}" text-anchor="end">'
            f"{escape(_shorten(label, (label_w - 6) // FONT))}<title>{escape(label)}</title></text>"
        )
        x = float(label_w)
        for i, value in enumerate(values):
            w = plot_w * value / peak
            if w > 0:
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar_h}" '
                    f'fill="{PALETTE[i % len(PALETTE)]}"><title>{escape(series[i])}: {value}'
                    "</title></rect>"
                )
            x += w
        out.append(
            f'<text x="{x + 4:.1f}" y="{y + bar_h - 6}" font-size="{FONT}">{sum(values)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text above is escaped)


def _shorten(label: str, room: int) -> str:
    """A label cut to `room` characters (wide ones count as one: CJK names are the usual case)."""
    return label if len(label) <= room else label[: max(room - 1, 1)] + "…"


def columns(values: Sequence[tuple[str, int]], title: str, width: int = WIDTH) -> Markup:
    """A column chart (e.g. a distribution), labels under the columns."""
    height, bottom, top, left = 220, 30, 18, 4
    plot_h = height - bottom - top
    peak = max((v for _label, v in values), default=0) or 1
    bar_w = (width - left * 2) / max(len(values), 1)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart" aria-label="{escape(title)}">'
    ]
    for i, (label, value) in enumerate(values):
        h = plot_h * value / peak
        x = left + i * bar_w + 3
        y = top + plot_h - h
        out.append(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 6:.1f}" height="{h:.1f}" '
            f'fill="#a4161a"><title>{escape(label)}: {value}</title></rect>'
            f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{height - 10}" font-size="{FONT}" '
            f'text-anchor="middle" fill="#555">{escape(label)}</text>'
        )
        if value:
            out.append(
                f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{y - 4:.1f}" font-size="{FONT}" '
                f'text-anchor="middle">{value}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text above is escaped)


def average_bars(
    rows: Sequence[tuple[str, float | Decimal | None]],
    title: str,
    scale: float = 5,
    width: int = WIDTH,
) -> Markup:
    """One horizontal bar per row for an average on a fixed scale (e.g. scores out of 5),
    labelled with its value; a row without a value gets no bar and a dash."""
    label_w, bar_h, gap, top = 140, 22, 6, 6
    plot_w = width - label_w - 44
    height = top + len(rows) * (bar_h + gap) + 4
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart" aria-label="{escape(title)}">'
    ]
    for index, (label, value) in enumerate(rows):
        y = top + index * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 6}" font-size="{FONT}" text-anchor="end">'
            f"{escape(_shorten(label, (label_w - 6) // FONT))}<title>{escape(label)}</title></text>"
            f'<rect x="{label_w}" y="{y}" width="{plot_w}" height="{bar_h}" fill="#eee"/>'
        )
        if value is None:
            out.append(f'<text x="{label_w + 4}" y="{y + bar_h - 6}" font-size="{FONT}">—</text>')
            continue
        w = plot_w * min(max(float(value), 0), scale) / scale
        out.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#a4161a">'
            f"<title>{escape(label)}: {value:.2f}</title></rect>"
            f'<text x="{label_w + plot_w + 4}" y="{y + bar_h - 6}" font-size="{FONT}">'
            f"{value:.2f}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text above is escaped)
