"""Terminal tables that fit the terminal: whole run names and numbers, fewer columns when narrow, ``--wide`` for all.

A column has a priority: 0 is always shown (the run name, the score); higher numbers are left out
first when the terminal is too narrow, and the caption says which ones ``--wide`` would add. Cells
never wrap or get cut: a column is as wide as its widest cell (headers may wrap at spaces). File
paths go below the table, on their own line, where they can be copied, never in a title.
``--csv`` and ``--json`` print the same rows for scripts, with every column.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rich.markup import escape
from rich.table import Table

# What a column costs besides its cells: one space of padding each side and a border.
_COLUMN_OVERHEAD = 3


@dataclass(frozen=True)
class Col:
    """A table column: its header, its priority (0: always shown; larger: dropped first), its alignment."""

    header: str
    priority: int = 0
    justify: str = "right"
    key: str | None = None  # the field name in --csv/--json (default: the header)


def _width(header: str, cells: Sequence[str]) -> int:
    words = max((len(w) for w in header.split()), default=0)
    return max([words, *(len(c) for c in cells)])


def _wrapped(header: str, width: int) -> str:
    """The header broken at spaces into lines of at most ``width`` (a word longer than that keeps its line)."""
    lines: list[str] = []
    for word in header.split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "\n".join(lines)


def fit_columns(cols: Sequence[Col], rows: Sequence[Sequence[str]], width: int) -> list[int]:
    """Indices of the columns to show: every priority-0 one, then by priority as long as they fit ``width``."""
    widths = [_width(c.header, [r[i] for r in rows]) + _COLUMN_OVERHEAD for i, c in enumerate(cols)]
    shown = [i for i, c in enumerate(cols) if c.priority == 0]
    used = 1 + sum(widths[i] for i in shown)
    for i in sorted((i for i, c in enumerate(cols) if c.priority > 0), key=lambda i: (cols[i].priority, i)):
        if used + widths[i] <= width:
            shown.append(i)
            used += widths[i]
    return sorted(shown)


def fitted_table(cols: Sequence[Col], rows: Sequence[Sequence[Any]], *, width: int, wide: bool = False,
                 title: str | None = None, caption: str | None = None) -> Table:
    """A rich Table of ``rows`` (cells as text) with the columns that fit ``width`` (all with ``wide``)."""
    text = [[_cell(v) for v in row] for row in rows]
    shown = list(range(len(cols))) if wide else fit_columns(cols, text, width)
    hidden = [cols[i].header for i in range(len(cols)) if i not in shown]
    if hidden:
        note = f"{len(hidden)} more column(s) with --wide: {', '.join(hidden)}"
        caption = f"{caption}; {note}" if caption else note
    table = Table(title=escape(title) if title else None, caption=escape(caption) if caption else None,
                  caption_justify="left")
    for i in shown:
        width_i = _width(cols[i].header, [r[i] for r in text])
        table.add_column(escape(_wrapped(cols[i].header, width_i)), justify=cols[i].justify, min_width=width_i, no_wrap=True)
    for row in text:  # cells are text, never rich markup
        table.add_row(*(escape(row[i]) for i in shown))
    return table


def print_table(console, table: Table, wide: bool = False) -> None:
    """Print ``table``; with ``wide``, at its full width even beyond the terminal's (lines may wrap in the terminal)."""
    if not wide:
        console.print(table, soft_wrap=False)  # the caption wraps to the table's width
        return
    from rich.measure import Measurement

    width = Measurement.get(console, console.options, table).maximum
    console.print(table, width=max(console.width, width), crop=False, soft_wrap=False)


def _cell(value: Any) -> str:
    return "-" if value is None else str(value)


def as_csv(cols: Sequence[Col], records: Sequence[dict[str, Any]]) -> str:
    """Records as CSV, one column per ``Col`` (its key), a header line first."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keys = [c.key or c.header for c in cols]
    writer.writerow(keys)
    for record in records:
        writer.writerow(["" if record.get(k) is None else record.get(k) for k in keys])
    return buffer.getvalue()


def as_json(records: Sequence[dict[str, Any]]) -> str:
    return json.dumps(list(records), indent=2, default=str) + "\n"
