"""Run the example queries of docs/cpg_schema.md over a CPG build and render their results."""

from __future__ import annotations

import re

import pyarrow as pa
from datafusion import SessionContext

from tests.paths import REPO_ROOT

DOC = REPO_ROOT / "docs" / "cpg_schema.md"
# a ```sql block immediately followed by a ```text block holding its result on the fixture
EXAMPLE = re.compile(r"```sql\n(?P<sql>.*?)```\n+```text\n(?P<result>.*?)```", re.S)


def examples(text: str) -> list[tuple[str, str]]:
    """(sql, expected result text) pairs in document order."""
    return [(m["sql"], m["result"]) for m in EXAMPLE.finditer(text)]


def _cell(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def render_result(table: pa.Table) -> str:
    """A plain aligned text table: header, then one line per row."""
    rows = [[_cell(v) for v in row.values()] for row in table.to_pylist()]
    header = table.column_names
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def run_query(sql: str, tables: dict[str, pa.Table]) -> str:
    """Run one query over the CPG tables and render its result."""
    ctx = SessionContext()
    for name, table in tables.items():
        ctx.from_arrow(table, name=name)
    return render_result(ctx.sql(sql).to_arrow_table())
