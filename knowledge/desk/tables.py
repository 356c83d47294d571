"""Tables made readable in a chat: one line per row, each value beside its column's header.

Telegram shows no tables. Answers hold two kinds: Markdown pipe tables an adviser typed, and
tables flattened into one cell per line by the page they were imported from (service-public.fr
pages: headers, then each row's labels and amounts, one per line). Both become lines such as
« • 2 personnes, Jeune couple — Paris : 91 710 € ; Autres régions : 65 356 € ».
"""

from __future__ import annotations

import re

# A flattened cell is a short line; a value cell is an amount, a rate, a number or a dash.
CELL_MAX_CHARS = 70
_VALUE = re.compile(
    r"^(?:[<>≤≥]\s*)?[-+]?\d[\d\s.,\u202f\u00a0]*(?:\s*(?:€|%|euros?|mois|ans?|m²|m2))?"
    r"(?:\s*(?:/|par)\s*\w+)?$|^[—–-]$",
    re.IGNORECASE,
)
_PIPE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_PIPE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
# A header cell this long is a title over the whole table, not over some of its columns.
TITLE_MIN_CHARS = 40
# At least this many rows of values before cells are read as a table.
MIN_ROWS = 2


def _is_value(text: str) -> bool:
    return bool(_VALUE.match(text.strip()))


def _is_cell(text: str) -> bool:
    stripped = text.strip()
    return bool(stripped) and len(stripped) <= CELL_MAX_CHARS and not _PIPE_ROW.match(stripped)


def _row_line(labels: list[str], headers: list[str], values: list[str]) -> str:
    pairs = [f"{header} : {value}" if header else value
             for header, value in zip(headers, values, strict=True)]
    head = ", ".join(labels)
    return f"• {head} — {' ; '.join(pairs)}" if head else f"• {' ; '.join(pairs)}"


def _words(text: str) -> set[str]:
    # Six letters are enough to see « personne » in « personnes ».
    return {word[:6] for word in re.findall(r"\w{3,}", text.lower())}


def _first_row_labels(first: list[str], others: list[list[str]], width: int) -> int:
    """How many of the cells before the first values label the first row.

    The first run holds the text before the table, the headers, then the first row's labels.
    A row has at most as many labels as the most any other row has; an extra label must share
    a word with the other rows' labels (« 1 personne » with « 2 personnes »), which a column
    header (« Autres régions ») does not.
    """
    most = max(1, min(max((len(labels) for labels in others), default=1), len(first) - width))
    seen: set[str] = set()
    for labels in others:
        for label in labels:
            seen |= _words(label)
    for count in range(most, 1, -1):
        if _words(first[-count]) & seen:
            return count
    return 1


def _headers_trusted(before: list[str], labels: list[str]) -> bool:
    """Whether the value headers are the table's columns in order, not grouped ones.

    A header spanning some of the columns comes just before them, which would shift every
    value under the wrong header. The headers are trusted when little comes before them, when
    what does is the label column's own header (it shares a word with the rows' labels), or a
    long title over the whole table.
    """
    if len(before) <= 2:
        return True
    seen: set[str] = set()
    for label in labels:
        seen |= _words(label)
    last = before[-1]
    return bool(_words(last) & seen) or len(last) >= TITLE_MIN_CHARS


def _flattened_rows(cells: list[str]) -> tuple[int, list[str], int] | None:
    """Read a run of cells as a flattened table, or None.

    Returns how many cells come before the table, its row lines, and how many cells after it
    (a heading such as « Rappel » that follows the last row).
    """
    runs: list[tuple[list[str], list[str]]] = []  # (labels before, values) per row
    labels: list[str] = []
    values: list[str] = []
    for cell in cells:
        if _is_value(cell):
            values.append(cell)
            continue
        if values:
            runs.append((labels, values))
            labels, values = [], []
        labels.append(cell)
    if values:
        runs.append((labels, values))
        labels = []
    trailing = len(labels)
    width = len(runs[0][1]) if runs else 0
    rows = [run for run in runs if run[0]]
    if (width < 2 or len(runs) < MIN_ROWS or len(rows) != len(runs)
            or any(len(found) != width for _, found in runs)):
        return None
    first_labels = runs[0][0]
    own = _first_row_labels(first_labels, [found for found, _ in runs[1:]], width)
    if len(first_labels) < width + own or not _headers_trusted(
            first_labels[:len(first_labels) - own - width],
            first_labels[len(first_labels) - own:]
            + [label for found, _ in runs[1:] for label in found]):
        # No header row, or one whose columns may be grouped (a header over some of them):
        # rows show their values alone and every header stays above as text, never misplaced.
        headers, before = [""] * width, len(first_labels) - own
    else:
        headers = first_labels[len(first_labels) - own - width:len(first_labels) - own]
        # What comes before the value headers stays as text (the label column's header too).
        before = len(first_labels) - own - width
    lines = []
    for index, (found, row_values) in enumerate(runs):
        row_labels = found[-own:] if index == 0 else found
        lines.append(_row_line(row_labels, headers, row_values))
    return before, lines, trailing


def _pipe_cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _pipe_table(lines: list[str]) -> list[str]:
    rows = [_pipe_cells(line) for line in lines if not _PIPE_RULE.match(line)]
    has_rule = any(_PIPE_RULE.match(line) for line in lines)
    headers = rows[0] if has_rule and len(rows) > 1 else []
    body = rows[1:] if headers else rows
    out = []
    for row in body:
        label, values = (row[0], row[1:]) if len(row) > 1 else ("", row)
        value_headers = (headers[1:] + [""] * len(values))[:len(values)] if headers \
            else [""] * len(values)
        out.append(_row_line([label] if label else [], value_headers, values))
    return out


def readable_tables(text: str) -> str:
    """Rewrite the tables of a text as one line per row with its headers; the rest untouched."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if _PIPE_ROW.match(line):
            end = index
            while end < len(lines) and (_PIPE_ROW.match(lines[end])
                                        or _PIPE_RULE.match(lines[end])):
                end += 1
            block = lines[index:end]
            out.extend(_pipe_table(block) if end - index >= 2 else block)
            index = end
            continue
        if _is_cell(line):
            # A run of short lines, blank lines between them allowed.
            end, cells, at = index, [], []
            while end < len(lines) and (not lines[end].strip() or _is_cell(lines[end])):
                if lines[end].strip():
                    cells.append(lines[end].strip())
                    at.append(end)
                end += 1
            last_cell = at[-1]
            table = _flattened_rows(cells)
            if table is not None:
                before, rows, trailing = table
                # The lines around the table stay as they were, blank lines included.
                out.extend(lines[index:at[before]])
                if out and out[-1].strip():
                    out.append("")
                out.extend(rows)
                index = at[len(at) - trailing] if trailing else last_cell + 1
                if index < len(lines) and lines[index].strip():
                    out.append("")
                continue
            out.extend(lines[index:last_cell + 1])
            index = last_cell + 1
            continue
        out.append(line)
        index += 1
    return "\n".join(out)
