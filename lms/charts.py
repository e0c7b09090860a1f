"""Small server-side SVG charts: no script, no outside service, text escaped."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

PALETTE = ("#2e7d32", "#f9a825", "#c62828", "#1565c0", "#6a1b9a")


def stacked_bars(
    rows: Sequence[tuple[str, Sequence[int]]],
    series: Sequence[str],
    title: str,
    width: int = 640,
) -> Markup:
    """One horizontal bar per row, split into the series' parts, labelled with counts."""
    label_w, bar_h, gap, top = 150, 18, 6, 24
    plot_w = width - label_w - 60
    height = top + len(rows) * (bar_h + gap) + 10
    peak = max((sum(values) for _label, values in rows), default=0) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
        f'class="chart" aria-label="{escape(title)}">'
    ]
    x = label_w
    for i, name in enumerate(series):  # legend
        out.append(
            f'<rect x="{x}" y="4" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{x + 14}" y="13" font-size="11">{escape(name)}</text>'
        )
        x += 14 + 12 * len(name) + 20
    for index, (label, values) in enumerate(rows):
        y = top + index * (bar_h + gap)
        out.append(
            f'<text x="{label_w - 6}" y="{y + bar_h - 5}" font-size="11" text-anchor="end">'
            f"{escape(label)}</text>"
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
        out.append(f'<text x="{x + 4:.1f}" y="{y + bar_h - 5}" font-size="11">{sum(values)}</text>')
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text above is escaped)


def columns(values: Sequence[tuple[str, int]], title: str, width: int = 640) -> Markup:
    """A column chart (e.g. a distribution), labels under the columns."""
    height, bottom, top, left = 220, 28, 16, 10
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
            f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{height - 10}" font-size="10" '
            f'text-anchor="middle" fill="#555">{escape(label)}</text>'
        )
        if value:
            out.append(
                f'<text x="{x + (bar_w - 6) / 2:.1f}" y="{y - 3:.1f}" font-size="11" '
                f'text-anchor="middle">{value}</text>'
            )
    out.append("</svg>")
    return Markup("".join(out))  # noqa: S704  (every text above is escaped)
