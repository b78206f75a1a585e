"""Small SVG bar charts for the report: no plotting stack, escaped labels, readable in print."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

COLOURS = ("#0b57d0", "#1b7f3a", "#b3261e", "#8a4baf", "#a15c00", "#00796b", "#555555")


def bars(title: str, rows: Sequence[tuple[str, float]], fmt: Callable[[float], str], width: int = 460) -> str:
    """A horizontal bar chart: one bar per (label, value), the value written beside it."""
    label_w, value_w, row_h, top = 170, 70, 24, 28
    plot_w = width - label_w - value_w
    high = max((v for _, v in rows), default=0.0) or 1.0
    height = top + row_h * max(len(rows), 1) + 6
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" font-family="system-ui,sans-serif" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<text x="0" y="16" font-weight="bold">{escape(title)}</text>',
    ]
    if not rows:
        parts.append(f'<text x="0" y="{top + 14}" fill="#555">nothing to show</text>')
    for i, (label, value) in enumerate(rows):
        y = top + i * row_h
        w = max(1.0, plot_w * value / high) if value > 0 else 0.0
        shown = label if len(label) <= 24 else label[:23] + "…"
        parts += [
            f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{COLOURS[i % len(COLOURS)]}"/>',
            f'<text x="{label_w + w + 4:.1f}" y="{y + 15}">{escape(fmt(value))}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)
