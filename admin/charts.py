"""Server-rendered bar charts: geometry computed here, SVG written by `_charts.html`.

No script and no external host. Each bar carries its number as text, the current period is a
solid bar and the previous one an outlined, hatched bar, so the chart reads without colour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 560
LABEL_WIDTH = 230
VALUE_WIDTH = 125
ROW_HEIGHT = 36
BAR_HEIGHT = 13
TOP = 30  # room for the legend


@dataclass(frozen=True)
class Bar:
    """One row of a chart: a label, the current value and the previous one."""

    label: str
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


@dataclass(frozen=True)
class BarChart:
    """A horizontal bar chart with its accessible title and description."""

    key: str
    title: str
    description: str
    bars: tuple[Bar, ...]
    height: int
    label_width: int = LABEL_WIDTH
    bar_area: int = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    width: int = WIDTH
    bar_height: int = BAR_HEIGHT


def _short(label: str, size: int = 26) -> str:
    return label if len(label) <= size else label[: size - 1] + "…"


def bar_chart(key: str, title: str, rows: Sequence[tuple[str, int, int | None]]) -> BarChart:
    """Build a chart from (label, value, previous value) rows."""
    largest = max([1, *(max(value, previous or 0) for _, value, previous in rows)])
    area = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = tuple(
        Bar(label=_short(label), value=value, previous=previous, y=TOP + index * ROW_HEIGHT,
            width=round(area * value / largest, 1),
            previous_width=round(area * (previous or 0) / largest, 1))
        for index, (label, value, previous) in enumerate(rows))
    described = "; ".join(f"{label} : {value}" + ("" if previous is None else
                                                   f" (période précédente : {previous})")
                          for label, value, previous in rows)
    return BarChart(key=key, title=title, description=described or "Aucune donnée.",
                    bars=bars, height=TOP + max(len(rows), 1) * ROW_HEIGHT + 6)
