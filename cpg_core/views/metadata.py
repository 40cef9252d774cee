"""Read view metadata from the leading `--` comment block of a .sql file.

Free comment lines form the description; `-- @key: value` lines set metadata::

    -- Call sites resolved to their most likely target.
    -- @keys: call_id
    -- @materialize: inline
    -- @layer: resolution
    -- @owners: team-cpg, alice@example.com
    -- @test not_null: call_id
    -- @contract: enforced
    -- @column call_id: text not null -- the call site's node id

Unknown keys and bad values are reported with their line, never ignored. `@test` and `@column`
values have their own syntax (`test_syntax`); a singular test's file declares only a
description and `@severity` (`parse_test_metadata`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import msgspec

from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import (
    ColumnDoc,
    DeclaredTest,
    Materialize,
    SemanticContract,
    Severity,
)
from cpg_core.views.test_syntax import (
    DraftTest,
    SyntaxIssue,
    finish_tests,
    parse_column,
    parse_test,
)

_LIST_KEYS = frozenset({"keys", "entity_keys", "join_keys", "owners", "tags"})
_SEMANTIC_TEXT_KEYS = frozenset({"layer", "entity", "grain", "version", "stability"})
_DATA_KEYS = frozenset({"test", "column", "contract"})
_KNOWN_KEYS = _LIST_KEYS | _SEMANTIC_TEXT_KEYS | _DATA_KEYS | {"description", "materialize"}
_META_LINE = re.compile(r"^--\s*@(?P<key>[A-Za-z_][\w-]*)\s*:?\s*(?P<value>.*?)\s*$")


@dataclass
class ViewMetadata:
    """What a comment block declared (defaults when it declared nothing)."""

    description: str = ""
    keys: tuple[str, ...] = ()
    materialize: Materialize = "table"
    semantic: SemanticContract | None = None
    tags: tuple[str, ...] = ()
    tests: tuple[DeclaredTest, ...] = ()
    columns: tuple[ColumnDoc, ...] = ()
    contract: bool = False
    problems: list[Problem] = field(default_factory=list)


def _split_list(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


_KNOWN_HINT = "known keys: " + ", ".join(sorted(_KNOWN_KEYS))


def _problem(
    view: str, path: str | None, lineno: int, raw: str, message: str, hint: str | None = None
) -> Problem:
    """A metadata problem pointing at the `@` of its line."""
    return Problem(
        code=ProblemCode.INVALID_METADATA,
        view=view,
        path=path,
        line=lineno,
        col=raw.index("@") + 1,
        message=message,
        hint=hint,
    )


def _issue(view: str, path: str | None, lineno: int, value_col: int, issue: SyntaxIssue) -> Problem:
    """A `@test`/`@column` syntax mistake pointing at where it starts in the line."""
    return Problem(
        code=ProblemCode.INVALID_METADATA,
        view=view,
        path=path,
        line=lineno,
        col=value_col + issue.offset,
        message=issue.message,
        hint=issue.hint,
    )


def _comment_block(text: str) -> Iterator[tuple[int, str, re.Match[str] | None, int]]:
    """(line number, raw line, `@key` match or None, 1-based column of the value) of each line
    of the leading comment block."""
    for lineno, raw in enumerate(re.split(r"\r\n|\r|\n", text), start=1):  # as sqlglot counts
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("--"):
            return
        match = _META_LINE.match(line)
        lead = len(raw) - len(raw.lstrip())
        yield lineno, raw, match, lead + (match.start("value") if match else 0) + 1


class _DataDeclarations:
    """The `@test`, `@column` and `@contract` lines of one view while its block is read."""

    def __init__(self, view: str, path: str | None, problems: list[Problem]) -> None:
        self.view, self.path, self.problems = view, path, problems
        self.tests: list[tuple[int, int, DraftTest]] = []
        self.columns: dict[str, ColumnDoc] = {}
        self.contract = False

    def add(self, key: str, value: str, lineno: int, raw: str, value_col: int) -> None:
        if key == "test":
            parsed = parse_test(value)
            if isinstance(parsed, SyntaxIssue):
                self.problems.append(_issue(self.view, self.path, lineno, value_col, parsed))
            else:
                self.tests += [(lineno, value_col, draft) for draft in parsed]
        elif key == "column":
            column = parse_column(value, lineno, value_col)
            if isinstance(column, SyntaxIssue):
                self.problems.append(_issue(self.view, self.path, lineno, value_col, column))
            elif column.name in self.columns:
                message = f"@column {column.name} is declared twice"
                hint = f"first on line {self.columns[column.name].line}"
                self.problems.append(_problem(self.view, self.path, lineno, raw, message, hint))
            else:
                self.columns[column.name] = column
        elif value.lower() == "enforced":
            self.contract = True
        else:
            message = f"@contract must be 'enforced', not {value!r}"
            self.problems.append(_problem(self.view, self.path, lineno, raw, message))

    def finish(self, meta: ViewMetadata) -> None:
        tests, duplicates = finish_tests(self.tests)
        for name, line in duplicates:
            self.problems.append(
                Problem(
                    code=ProblemCode.INVALID_METADATA,
                    view=self.view,
                    path=self.path,
                    line=line,
                    message=f"test name {name!r} is used twice",
                    hint="each test of a view needs its own name",
                )
            )
        meta.tests = tuple(tests)
        meta.columns = tuple(self.columns.values())
        meta.contract = self.contract
        if self.contract and not self.columns:
            self.problems.append(
                Problem(
                    code=ProblemCode.INVALID_METADATA,
                    view=self.view,
                    path=self.path,
                    message="@contract: enforced but no @column is declared",
                    hint="declare every output column: `-- @column name: type -- description`",
                )
            )


def parse_metadata(text: str, *, view: str, path: str | None) -> ViewMetadata:
    """Parse the comment block that precedes the first SQL token of `text`."""
    meta = ViewMetadata()
    description: list[str] = []
    semantic: dict[str, object] = {}
    data = _DataDeclarations(view, path, meta.problems)
    for lineno, raw, match, value_col in _comment_block(text):
        if match is None:
            description.append(raw.strip()[2:].strip())
            continue
        key, value = match["key"].lower().replace("-", "_"), match["value"]
        if key in _DATA_KEYS:
            data.add(key, value, lineno, raw, value_col)
        elif key not in _KNOWN_KEYS:
            meta.problems.append(
                _problem(
                    view, path, lineno, raw, f"unknown metadata key @{match['key']}", _KNOWN_HINT
                )
            )
        elif key == "description":
            description.append(value)
        elif key == "materialize":
            if value in ("table", "inline"):
                meta.materialize = "inline" if value == "inline" else "table"
            else:
                message = f"@materialize must be 'table' or 'inline', not {value!r}"
                meta.problems.append(_problem(view, path, lineno, raw, message))
        elif key == "keys":
            meta.keys = _split_list(value)
        elif key == "tags":
            meta.tags = _split_list(value)
        elif key in _LIST_KEYS:
            semantic[key] = _split_list(value)
        else:
            semantic[key] = value
    meta.description = " ".join(part for part in description if part).strip()
    if semantic:
        meta.semantic = msgspec.convert(semantic, SemanticContract)
    data.finish(meta)
    return meta


def parse_test_metadata(
    text: str, *, name: str, path: str | None
) -> tuple[str, Severity, list[Problem]]:
    """A singular test's comment block: its description and `@severity` (error by default)."""
    description: list[str] = []
    severity: Severity = "error"
    problems: list[Problem] = []
    for lineno, raw, match, _ in _comment_block(text):
        if match is None:
            description.append(raw.strip()[2:].strip())
        elif match["key"].lower() == "description":
            description.append(match["value"])
        elif match["key"].lower() == "severity" and match["value"].lower() in ("error", "warn"):
            severity = "warn" if match["value"].lower() == "warn" else "error"
        elif match["key"].lower() == "severity":
            message = f"@severity must be 'error' or 'warn', not {match['value']!r}"
            problems.append(_problem(name, path, lineno, raw, message))
        else:
            message = f"unknown metadata key @{match['key']} in a singular test"
            hint = "a singular test declares a description and @severity: warn|error"
            problems.append(_problem(name, path, lineno, raw, message, hint))
    return " ".join(part for part in description if part).strip(), severity, problems
