"""Server-side SVG charts for the results pages: pure functions from plain data to an SVG string.

No JavaScript, no database, no translation inside: callers pass every word (already translated)
and every number already formatted. Every piece of text is escaped here. Each chart is an image
with a text alternative (``role="img"``, ``<title>`` and ``<desc>`` named by ``aria-labelledby``);
the page puts the same data in an HTML table beside it. The drawing scales to its container
(``viewBox`` and ``width="100%"``), so it fits a 360 px phone; marks never rely on colour alone
(a funded bar is also outlined, labelled and ticked).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from html import escape

from django.utils.safestring import SafeString, mark_safe

WIDTH = 420  # viewBox units; drawn at most 32rem wide: text ≈ 13 px on a 360 px phone, ≈ 20 px on a desk
ROW = 56  # one bar: its label above, the bar, the value beside it
LABEL_CHARS = 42  # longer labels are cut with "…" in the drawing (the table has them whole)
VALUE_ROOM = 150  # room right of the longest bar for its value text
HIGHLIGHT = "#0b5394"  # funded: dark blue, with a dark outline and a tick in the text
PLAIN = "#c5ced8"  # not funded: light grey-blue with a darker outline (3:1 against white)
OUTLINE = "#3d4752"
TEXT = "#1b1b1b"

Number = int | float | Decimal | Fraction


@dataclass(frozen=True)
class Bar:
    label: str
    value: Number
    value_text: str  # the value as the page shows it ("1,234", "$8,000")
    highlight: bool = False  # e.g. a funded project
    note: str = ""  # words after the value for a highlighted bar ("funded")


def _e(text) -> str:
    return escape(str(text), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _cut(text: str, limit: int = LABEL_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _open(chart_id: str, height: float, title: str, desc: str, css_class: str) -> list[str]:
    cid = _e(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="{cid}" class="chart {_e(css_class)}" viewBox="0 0 {WIDTH} '
        f'{_n(height)}" width="100%" preserveAspectRatio="xMinYMin meet" role="img" focusable="false" '
        f'aria-labelledby="{cid}-title {cid}-desc">',  # sized by static/css/results.css (no inline style: CSP)
        f'<title id="{cid}-title">{_e(title)}</title>',
        f'<desc id="{cid}-desc">{_e(desc)}</desc>',
    ]


def bar_chart(bars: Sequence[Bar], *, chart_id: str, title: str, desc: str, css_class: str = "bars") -> SafeString:
    """Horizontal bars, one per item, in the given order, scaled to the largest value. Each bar is a
    ``<g class="bar">`` (``bar highlight`` when highlighted) with its full label and value in a
    ``<title>`` (a tooltip); the label above it, the value (and note) to its right."""
    largest = max((float(b.value) for b in bars), default=0.0)
    room = WIDTH - VALUE_ROOM
    height = max(len(bars), 1) * ROW + 8
    parts = _open(chart_id, height, title, desc, css_class)
    for index, bar in enumerate(bars):
        top = 4 + index * ROW
        width = room * float(bar.value) / largest if largest > 0 else 0.0
        width = max(width, 2.0) if float(bar.value) > 0 else 0.0
        words = f"{bar.value_text} {bar.note}".strip() if bar.highlight else bar.value_text
        mark = " ✓" if bar.highlight else ""
        cls, fill, stroke = ("bar highlight", HIGHLIGHT, TEXT) if bar.highlight else ("bar", PLAIN, OUTLINE)
        weight = ' font-weight="bold"' if bar.highlight else ""
        parts += [
            f'<g class="{cls}" data-highlight="{"true" if bar.highlight else "false"}">',
            f"<title>{_e(bar.label)}: {_e(words)}</title>",
            f'<text x="0" y="{top + 17}" font-size="17" fill="{TEXT}">{_e(_cut(bar.label))}</text>',
            f'<rect x="0" y="{top + 24}" width="{_n(width)}" height="20" fill="{fill}" stroke="{stroke}" '
            f'stroke-width="{1.5 if width else 0}"/>',
            f'<text x="{_n(width + 6)}" y="{top + 40}" font-size="16" fill="{TEXT}"{weight}>{_e(words)}{mark}</text>',
            "</g>",
        ]
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped


@dataclass(frozen=True)
class Segment:
    label: str
    amount: Number


def budget_bar(
    *,
    budget: Number,
    segments: Sequence[Segment],
    used_text: str,
    left_text: str,
    chart_id: str,
    title: str,
    desc: str,
) -> SafeString:
    """One bar for the whole budget: a dark segment per funded project (in order, each with its
    name in a tooltip), the rest light; under it what was used and what is left."""
    total = float(budget)
    height = 90
    parts = _open(chart_id, height, title, desc, "budget")
    parts.append(
        f'<rect class="budget-total" x="1" y="4" width="{WIDTH - 2}" height="30" fill="{PLAIN}" stroke="{OUTLINE}" '
        f'stroke-width="1.5"/>'
    )
    x = 1.0
    usable = WIDTH - 2
    for segment in segments:
        width = usable * float(segment.amount) / total if total > 0 else 0.0
        if width <= 0:
            continue
        parts.append(
            f'<rect class="budget-used" x="{_n(x)}" y="4" width="{_n(width)}" height="30" fill="{HIGHLIGHT}" '
            f'stroke="#ffffff" stroke-width="1"><title>{_e(segment.label)}</title></rect>'
        )
        x += width
    parts += [
        f'<text x="0" y="58" font-size="17" fill="{TEXT}" font-weight="bold">{_e(used_text)}</text>',
        f'<text x="0" y="80" font-size="17" fill="{TEXT}">{_e(left_text)}</text>',
        "</svg>",
    ]
    return mark_safe("".join(parts))  # noqa: S308 — every text above is escaped
