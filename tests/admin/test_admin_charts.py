"""The statistics charts: every label is there in full, and all the text fits the drawing."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from admin.charts import CHAR_WIDTH, BarChart, bar_chart, text_width
from admin.pages import make_templates

SVG = "{http://www.w3.org/2000/svg}"
LONG = ("Office public de l'habitat de la Communauté d'agglomération "
        "Provence-Alpes-Agglomération")
ROWS = [
    (LONG, 12, 3),
    ("Renouvellement urbain (NPNRU) et politique de la ville", 7, 9),
    ("Attributions", 1, 0),
    ("Anticonstitutionnellementextraordinairementlong", 0, 1),
    ("Sociétés anonymes d'HLM & coopératives", 120, 1_034),
]


def _svg(chart: BarChart) -> ET.Element:
    module = make_templates().env.get_template("_charts.html").module
    macro = module.bar_chart  # type: ignore[attr-defined]
    svg = str(macro(chart)).replace('<svg class', '<svg xmlns="http://www.w3.org/2000/svg" class')
    return ET.fromstring(svg)


def _lines(text: ET.Element) -> list[str]:
    spans = text.findall(f"{SVG}tspan")
    return [span.text or "" for span in spans] if spans else [text.text or ""]


def test_every_label_is_in_the_chart_in_full() -> None:
    svg = _svg(bar_chart("organismes", "Questions par organisme", ROWS))
    titles = [title.text for title in svg.iter(f"{SVG}title")]
    for label, _, _ in ROWS:
        assert label in titles
        assert label in (svg.find(f"{SVG}desc").text or "")  # type: ignore[union-attr]
    drawn = [" ".join(_lines(text)) for text in svg.iter(f"{SVG}text")
             if text.get("text-anchor") == "end"]
    # Wrapped at spaces, the labels of three lines at most are drawn whole.
    assert drawn[1] == "Renouvellement urbain (NPNRU) et politique de la ville"
    assert drawn[2] == "Attributions"
    assert drawn[0].endswith("…") and LONG.startswith(drawn[0][:-1].rstrip())


def test_every_text_fits_within_the_view_box() -> None:
    for rows in (ROWS, [("Var", 1, None)], []):
        chart = bar_chart("themes", "Questions par thème", rows)
        svg = _svg(chart)
        _, _, width, height = (float(value) for value in svg.get("viewBox", "").split())
        assert (width, height) == (chart.width, chart.height)
        for text in svg.iter(f"{SVG}text"):
            for line in _lines(text):
                spans = text.findall(f"{SVG}tspan")
                x = float(spans[0].get("x") if spans else text.get("x", "0"))  # type: ignore[arg-type]
                if text.get("text-anchor") == "end":
                    assert x - text_width(line) >= 0, line
                else:
                    assert x + text_width(line) <= width, line
            assert 0 < float(text.get("y", "0")) <= height
        for bar in chart.bars:
            last = bar.first_line_y + (len(bar.lines) - 1) * chart.line_height
            assert last <= height and bar.first_line_y - 15 >= 0
    assert CHAR_WIDTH >= 15 * 0.6  # the estimate stays generous for a 15 px font
