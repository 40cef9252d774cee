"""The value of an `@incremental` line:
`partition_by = <column> [; drivers = <table>[.<column>], ... | none] [; dependencies = <table>.<column>]`.

Clauses are separated by `;`; each is `name = value`. `partition_by` names one output column;
`drivers` lists the inputs partitioned like the output (a table, or `table.column` when the
driver's partition column has another name; `none`: every input is a lookup, the view is
always rebuilt whole and only publishes its partitions); `dependencies` names the input column listing,
for each partition (the rows of that table in it), the lookup partitions it reads. Names
follow SQL: unquoted ones are lower-cased. Every mistake is a `SyntaxIssue` pointing at its
offset in the value.
"""

from __future__ import annotations

import re

from cpg_core.views.model import IncrementalSpec
from cpg_core.views.test_syntax import SyntaxIssue, identifier

_NAME = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
_NAME_RE = re.compile(_NAME)
_DRIVER_RE = re.compile(rf"(?P<table>{_NAME})(?:\s*\.\s*(?P<column>{_NAME}))?")
_CLAUSE_RE = re.compile(r"\s*(?P<name>[A-Za-z_]+)\s*(?P<eq>=)?\s*(?P<value>.*?)\s*$")
_CLAUSES = ("partition_by", "drivers", "dependencies")
EXAMPLE = "e.g. `@incremental: partition_by = path` or `... ; drivers = defs, refs.path`"


def parse_incremental(value: str, line: int, value_col: int) -> IncrementalSpec | SyntaxIssue:
    """Parse an `@incremental` value (`line`/`value_col` locate it in the file)."""
    found: dict[str, tuple[str, int]] = {}
    offset = 0
    for part in value.split(";"):
        clause = _CLAUSE_RE.match(part)
        if clause is None or not part.strip():
            return SyntaxIssue("empty clause", offset, EXAMPLE)
        name = clause["name"].lower()
        at = offset + clause.start("name")
        if name not in _CLAUSES:
            return SyntaxIssue(
                f"unknown clause {clause['name']!r}", at, "clauses: " + ", ".join(_CLAUSES)
            )
        if name in found:
            return SyntaxIssue(f"{name} is given twice", at)
        if not clause["eq"] or not clause["value"]:
            return SyntaxIssue(f"expected `{name} = <value>`", at, EXAMPLE)
        found[name] = (clause["value"], offset + clause.start("value"))
        offset += len(part) + 1
    if "partition_by" not in found:
        return SyntaxIssue("partition_by is missing", 0, EXAMPLE)
    column_text, column_at = found["partition_by"]
    if _NAME_RE.fullmatch(column_text) is None:
        return SyntaxIssue(
            f"partition_by must name one column, not {column_text!r}", column_at, EXAMPLE
        )
    drivers: tuple[str, ...] = ()
    no_drivers = "drivers" in found and found["drivers"][0].lower() == "none"
    if no_drivers and "dependencies" in found:
        return SyntaxIssue(
            "dependencies needs drivers: with `drivers = none` the view is always rebuilt whole",
            found["dependencies"][1],
        )
    if "drivers" in found and not no_drivers:
        parsed = _drivers(*found["drivers"])
        if isinstance(parsed, SyntaxIssue):
            return parsed
        drivers = parsed
    dependencies: str | None = None
    if "dependencies" in found:
        text, at = found["dependencies"]
        match = _DRIVER_RE.fullmatch(text)
        if match is None or not match["column"]:
            return SyntaxIssue(
                f"dependencies is one `table.column`, not {text!r}",
                at,
                "e.g. `dependencies = file_imports.imported_path`",
            )
        dependencies = identifier(match["table"]) + "." + identifier(match["column"])
    return IncrementalSpec(
        partition_by=identifier(column_text),
        drivers=drivers,
        no_drivers=no_drivers,
        dependencies=dependencies,
        line=line,
        col=value_col,
    )


def _drivers(text: str, at: int) -> tuple[str, ...] | SyntaxIssue:
    """`table[.column], ...` as `table` / `table.column` strings (names normalized)."""
    drivers: list[str] = []
    offset = at
    for item in text.split(","):
        match = _DRIVER_RE.fullmatch(item.strip())
        lead = len(item) - len(item.lstrip())
        if match is None:
            return SyntaxIssue(
                f"a driver is `table` or `table.column`, not {item.strip()!r}", offset + lead
            )
        name = identifier(match["table"])
        if match["column"]:
            name += "." + identifier(match["column"])
        if name in drivers:
            return SyntaxIssue(f"driver {name} is listed twice", offset + lead)
        drivers.append(name)
        offset += len(item) + 1
    return tuple(drivers)
