"""Markdown tables for metadata entries: what the open-source Dagster UI renders readably.

Why tables: the UI draws Markdown (not Mermaid, not column lineage), so the plan's critical
path, its generations, its problems and a view's column lineage are shown as tables.
"""

from __future__ import annotations

from collections.abc import Sequence

MAX_LISTED = 12  # names listed in one cell before "… and N more"


def cell(text: object) -> str:
    """`text` safe inside one table cell (no pipe ends the cell, no newline ends the row)."""
    return " ".join(str(text).replace("\\", "\\\\").replace("|", "\\|").splitlines())


def code(text: str) -> str:
    """`text` as inline code in a cell (double backticks when it holds one: a single backtick
    would end the span)."""
    safe = cell(text)
    return f"`` {safe} ``" if "`" in safe else f"`{safe}`"


def names(items: Sequence[str], limit: int = MAX_LISTED) -> str:
    """Names as inline code, comma separated, at most `limit` of them."""
    shown = ", ".join(code(n) for n in items[:limit])
    rest = len(items) - limit
    return f"{shown} … and {rest} more" if rest > 0 else shown


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A Markdown table (cells already made safe with `cell`/`code`); columns in `right` are
    right-aligned (numbers)."""
    rule = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = [f"| {' | '.join(headers)} |", f"| {' | '.join(rule)} |"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    return "\n".join(lines)


def seconds(value: float) -> float:
    """Seconds as shown in metadata: 4 significant digits (no float noise, small costs kept)."""
    return float(f"{value:.4g}")
