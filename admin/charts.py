"""Server-rendered bar charts: geometry computed here, SVG written by `_charts.html`.

No script and no external host. Each bar carries its number as text, the current period is a
solid bar and the same dates a year earlier an outlined, hatched bar, so the chart reads without
colour. Long labels are wrapped on up to three lines (the last one ellipsised if need be) and
the chart is as wide as its longest line; every row's full label is also in its `<title>`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

FONT_SIZE = 15
# Width of one character at FONT_SIZE, generous for a proportional font (capitals included),
# so that text measured with it never overflows the drawing.
CHAR_WIDTH = 9.5
LINE_CHARS = 28  # a label line holds at most this many characters
MAX_LINES = 3
LINE_HEIGHT = 17
LABEL_GAP = 8  # between the end of a label and the bars
MIN_LABEL_WIDTH = 120
BAR_AREA = 205
ROW_HEIGHT = 36
BAR_HEIGHT = 13
TOP = 30  # room for the legend
LEGEND_WIDTH = 300  # "Période" and "Un an plus tôt" with their swatches
MARGIN = 4


def text_width(text: str) -> float:
    """The width `text` is drawn on at FONT_SIZE, by the generous estimate above."""
    return len(text) * CHAR_WIDTH


@dataclass(frozen=True)
class Bar:
    """One row of a chart: a label, the current value and the value a year earlier."""

    label: str  # the full text, in the row's <title>
    lines: tuple[str, ...]  # the label as drawn
    value: int
    previous: int | None
    y: float
    width: float
    previous_width: float

    @property
    def text(self) -> str:
        """The numbers written at the end of the bars."""
        if self.previous is None:
            return str(self.value)
        return f"{self.value} (avant : {self.previous})"

    @property
    def first_line_y(self) -> float:
        """Baseline of the label's first line, the lines centred on the two bars."""
        middle = self.y + BAR_HEIGHT + 2
        return middle - (len(self.lines) - 1) * LINE_HEIGHT / 2


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart with its accessible title and description."""

    key: str
    title: str
    description: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int
    width: int
    bar_area: int = BAR_AREA
    bar_height: int = BAR_HEIGHT
    line_height: int = LINE_HEIGHT


def label_lines(label: str) -> tuple[str, ...]:
    """A label cut at spaces into lines of LINE_CHARS at most, the last one ellipsised."""
    return tuple(textwrap.wrap(label, LINE_CHARS, break_on_hyphens=False, max_lines=MAX_LINES,
                               placeholder=" …") or [""])


def bar_chart(key: str, title: str, rows: Sequence[tuple[str, int, int | None]]) -> BarChart:
    """Build a chart from (label, value, value a year earlier) rows."""
    largest = max([1, *(max(value, previous or 0) for _, value, previous in rows)])
    wrapped = [label_lines(label) for label, _, _ in rows]
    longest = max([0.0, *(text_width(line) for lines in wrapped for line in lines)])
    label_width = int(max(MIN_LABEL_WIDTH, MARGIN + longest + LABEL_GAP) + 0.999)
    bars, y = [], float(TOP)
    for (label, value, previous), lines in zip(rows, wrapped, strict=True):
        # A label of several lines makes its row taller; the bars stay at its middle.
        row_height = max(ROW_HEIGHT, len(lines) * LINE_HEIGHT + 12)
        bars.append(Bar(label=label, lines=lines, value=value, previous=previous,
                        y=y + (row_height - ROW_HEIGHT) / 2,
                        width=round(BAR_AREA * value / largest, 1),
                        previous_width=round(BAR_AREA * (previous or 0) / largest, 1)))
        y += row_height
    numbers = max([0.0, *(text_width(bar.text) for bar in bars)])
    width = int(label_width + max(BAR_AREA + 6 + numbers, LEGEND_WIDTH) + MARGIN + 0.999)
    described = "; ".join(f"{label} : {value}" + ("" if previous is None else
                                                   f" (un an plus tôt : {previous})")
                          for label, value, previous in rows)
    return BarChart(key=key, title=title, description=described or "Aucune donnée.",
                    bars=tuple(bars), height=int(max(y, TOP + ROW_HEIGHT)) + 6,
                    label_width=label_width, width=width)
