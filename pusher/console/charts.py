"""Charts as inline SVG drawn on the server (the console's CSP allows no inline scripts).

A chart is plain markup: one labelled bar per row, the reached part filled, the whole
in a lighter shade, with the numbers written beside it, so it prints and reads without
colour too.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

ROW, LABEL, BAR, GAP = 26, 120, 360, 8
WIDTH = LABEL + BAR + 110


def bars(series: Sequence[tuple[str, int, int]], *, title: str) -> Markup:
    """Horizontal bars of ``(label, reached, total)``, scaled to the largest total."""
    top = max((total for _, _, total in series), default=0) or 1
    height = ROW * max(len(series), 1) + GAP
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{height}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    for n, (label, reached, total) in enumerate(series):
        y = n * ROW + GAP
        whole, part = BAR * total / top, BAR * reached / top
        share = f"{round(100 * reached / total)}%" if total else "—"
        parts.append(
            f'<text x="0" y="{y + 14}" font-size="13">{escape(label[:10])}</text>'
            f'<rect x="{LABEL}" y="{y}" width="{whole:.1f}" height="18" fill="#d6e4f0"/>'
            f'<rect class="reached" x="{LABEL}" y="{y}" width="{part:.1f}" height="18" '
            f'fill="#1f6fb2"/>'
            f'<text x="{LABEL + BAR + 6}" y="{y + 14}" font-size="13">'
            f"{reached}/{total} {share}</text>"
        )
    if not series:
        parts.append(f'<text x="0" y="{GAP + 14}" font-size="13">没有数据</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
