"""The syntax of `-- @test` and `-- @column` lines (see docs/tests_and_contracts.md).

    -- @test not_null: customer_id, total
    -- @test unique: customer_id, day                      (the combination is unique)
    -- @test accepted_values: status in ('open', 'done')
    -- @test relationships: customer_id -> customers.customer_id
    -- @test row_count: >= 1                              (or: between 1 and 1000)
    -- @test expression: total >= 0 ; severity: warn ; name: non_negative_total
    -- @column total: double not null -- the order's total in euros

Options follow the arguments after `;` (`severity: warn|error`, `name: <identifier>`).
Names follow SQL: unquoted names are lower-cased, "quoted" ones are kept as written.
Every mistake is a `SyntaxIssue` with the column (in the value text) where it starts; the
metadata parser turns it into a located problem. Only syntax is checked here: whether columns
and tables exist is the compiler's business (it knows the output schema).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from cpg_core.views.model import (
    DECLARED_TEST_KINDS,
    ColumnDoc,
    DeclaredTest,
    DeclaredTestKind,
    Severity,
)

# Check names of Dagster and of the built-in checks; a declared test may not take them.
RESERVED_TEST_NAMES = frozenset({"admitted", "keys_unique", "is_empty", "no_dangling_edges"})
_IDENT = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+")'
_NAME_LIST = re.compile(rf"\s*({_IDENT})\s*(,|$)")
_RELATION = re.compile(
    rf"^\s*(?P<col>{_IDENT})\s*->\s*(?P<table>{_IDENT})\s*\.\s*(?P<to>{_IDENT})\s*$"
)
_COMPARISON = re.compile(r"^\s*(?P<op>>=|<=|!=|<>|==|=|>|<)\s*(?P<n>\d+)\s*$")
_BETWEEN = re.compile(r"^\s*between\s+(?P<lo>\d+)\s+and\s+(?P<hi>\d+)\s*$", re.IGNORECASE)
_TEST_HEAD = re.compile(r"^(?P<kind>[A-Za-z_][\w-]*)\s*(?P<colon>:?)")
TEST_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")
_OPTION = re.compile(r"^\s*(?P<key>[A-Za-z_]+)\s*:\s*(?P<value>.*?)\s*$")
_COLUMN_HEAD = re.compile(rf"^(?P<name>{_IDENT})\s*(?P<colon>:?)")
_NOT_NULL = re.compile(r"\s+not\s+null\s*$", re.IGNORECASE)
SEVERITIES: tuple[Severity, ...] = ("error", "warn")
_KINDS: dict[str, DeclaredTestKind] = {kind: kind for kind in DECLARED_TEST_KINDS}


@dataclass(frozen=True)
class SyntaxIssue:
    """A mistake in a metadata value: `offset` is its 0-based position in the value text."""

    message: str
    offset: int = 0
    hint: str | None = None


def identifier(text: str) -> str:
    """A name as SQL reads it: "quoted" kept as written, unquoted lower-cased."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('""', '"')
    return text.lower()


def _split_top_level(text: str, separator: str) -> list[tuple[int, str]]:
    """`text` split at `separator` outside quotes and parentheses: (offset, part) pairs."""
    parts: list[tuple[int, str]] = []
    start, depth, quote = 0, 0, ""
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append((start, text[start:i]))
            start = i + 1
    parts.append((start, text[start:]))
    return parts


def _names(text: str, offset: int) -> tuple[list[tuple[str, int]], SyntaxIssue | None]:
    """A comma-separated list of column names with their offsets."""
    names: list[tuple[str, int]] = []
    position = 0
    while position < len(text):
        match = _NAME_LIST.match(text, position)
        if match is None:
            at = offset + position + len(text[position:]) - len(text[position:].lstrip())
            return names, SyntaxIssue("expected a comma-separated list of column names", at)
        names.append((identifier(match[1]), offset + match.start(1)))
        position = match.end()
    if not names:
        return names, SyntaxIssue("expected at least one column name", offset)
    return names, None


@dataclass
class DraftTest:
    """A test line while it is parsed (before names are made unique)."""

    kind: DeclaredTestKind
    severity: Severity
    name: str | None
    columns: list[tuple[str, int]]
    values: tuple[str, ...] = ()
    to_table: tuple[str, int] | None = None
    to_column: tuple[str, int] | None = None
    condition: str | None = None
    args_offset: int = 0


def parse_test(value: str) -> list[DraftTest] | SyntaxIssue:
    """Parse the value of a `@test` line (`kind: arguments [; option: value]...`)."""
    head = _TEST_HEAD.match(value)
    if head is None or not head["colon"]:
        return SyntaxIssue(
            "expected `@test <kind>: <arguments>`", 0, "kinds: " + ", ".join(DECLARED_TEST_KINDS)
        )
    kind_text = head["kind"].lower()
    kind = _KINDS.get(kind_text)
    if kind is None:
        near = difflib.get_close_matches(kind_text, DECLARED_TEST_KINDS, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return SyntaxIssue(
            f"unknown test {head['kind']!r}", 0, hint + "kinds: " + ", ".join(DECLARED_TEST_KINDS)
        )
    rest = value[head.end() :]
    parts = _split_top_level(rest, ";")
    args_at, args = parts[0]
    args_offset = head.end() + args_at + len(args) - len(args.lstrip())
    options = _options(parts[1:], head.end())
    if isinstance(options, SyntaxIssue):
        return options
    severity, name = options
    if not args.strip():
        return SyntaxIssue(f"@test {kind} needs arguments", head.end(), _USAGE[kind])
    drafts = _arguments(kind, args.strip(), args_offset)
    if isinstance(drafts, SyntaxIssue):
        return drafts
    for draft in drafts:
        draft.severity, draft.name, draft.args_offset = severity, name, args_offset
    if name is not None and len(drafts) > 1:
        return SyntaxIssue(
            "`name:` names one test, but this line declares one per column", args_offset
        )
    return drafts


_USAGE: dict[DeclaredTestKind, str] = {
    "not_null": "e.g. `@test not_null: customer_id, total`",
    "unique": "e.g. `@test unique: order_id` or `@test unique: customer_id, day`",
    "accepted_values": "e.g. `@test accepted_values: status in ('open', 'done')`",
    "relationships": "e.g. `@test relationships: customer_id -> customers.customer_id`",
    "row_count": "e.g. `@test row_count: >= 1` or `@test row_count: between 1 and 1000`",
    "expression": "e.g. `@test expression: total >= 0`",
}


def _options(parts: list[tuple[int, str]], base: int) -> tuple[Severity, str | None] | SyntaxIssue:
    severity: Severity = "error"
    name: str | None = None
    for at, text in parts:
        match = _OPTION.match(text)
        offset = base + at + len(text) - len(text.lstrip())
        if match is None:
            return SyntaxIssue(
                "expected `; option: value` (options: severity, name)", offset, _USAGE_OPTIONS
            )
        key, option = match["key"].lower(), match["value"]
        if key == "severity":
            if option.lower() not in SEVERITIES:
                return SyntaxIssue(f"severity must be 'error' or 'warn', not {option!r}", offset)
            severity = "warn" if option.lower() == "warn" else "error"
        elif key == "name":
            if not TEST_NAME.fullmatch(option):
                return SyntaxIssue(
                    f"test name {option!r} must be lower_snake_case (at most 63 characters)",
                    offset,
                )
            if option in RESERVED_TEST_NAMES:
                return SyntaxIssue(f"test name {option!r} is reserved for a built-in check", offset)
            name = option
        else:
            return SyntaxIssue(f"unknown test option {match['key']!r}", offset, _USAGE_OPTIONS)
    return severity, name


_USAGE_OPTIONS = "e.g. `@test not_null: id ; severity: warn ; name: id_present`"


def _arguments(kind: DeclaredTestKind, args: str, offset: int) -> list[DraftTest] | SyntaxIssue:
    if kind in ("not_null", "unique"):
        names, issue = _names(args, offset)
        if issue is not None:
            return SyntaxIssue(issue.message, issue.offset, _USAGE[kind])
        if kind == "not_null":
            return [DraftTest(kind, "error", None, [column]) for column in names]
        return [DraftTest(kind, "error", None, names)]
    if kind == "accepted_values":
        return _accepted_values(args, offset)
    if kind == "relationships":
        match = _RELATION.match(args)
        if match is None:
            return SyntaxIssue("expected `column -> table.column`", offset, _USAGE[kind])
        return [
            DraftTest(
                kind,
                "error",
                None,
                [(identifier(match["col"]), offset + match.start("col"))],
                to_table=(identifier(match["table"]), offset + match.start("table")),
                to_column=(identifier(match["to"]), offset + match.start("to")),
            )
        ]
    if kind == "row_count":
        return _row_count(args, offset)
    return _expression(args, offset)


def _accepted_values(args: str, offset: int) -> list[DraftTest] | SyntaxIssue:
    usage = _USAGE["accepted_values"]
    try:
        parsed = sqlglot.parse_one(args, read="postgres")
    except Exception:  # sqlglot's errors, and its bugs on odd text: this line's problem
        return SyntaxIssue("expected `column in (value, ...)`", offset, usage)
    if not isinstance(parsed, exp.In) or not isinstance(parsed.this, exp.Column):
        return SyntaxIssue("expected `column in (value, ...)`", offset, usage)
    if parsed.this.table or parsed.args.get("query") is not None:
        return SyntaxIssue("expected `column in (value, ...)` with literal values", offset, usage)
    values: list[str] = []
    for value in parsed.expressions:
        literal = value.this if isinstance(value, exp.Neg) else value
        if isinstance(literal, exp.Null):
            return SyntaxIssue(
                "NULL is never an accepted value: rows with a NULL pass this test "
                "(declare `@test not_null` to forbid them)",
                offset,
            )
        if not isinstance(literal, exp.Literal | exp.Boolean):
            return SyntaxIssue(
                f"accepted values must be literals, not {value.sql(dialect='postgres')!r}",
                offset,
                usage,
            )
        values.append(value.sql(dialect="postgres"))
    if not values:
        return SyntaxIssue("accepted_values needs at least one value", offset, usage)
    column = parsed.this.this
    name = column.this if column.quoted else column.this.lower()
    at = args.find(column.this)
    return [
        DraftTest("accepted_values", "error", None, [(name, offset + max(at, 0))], tuple(values))
    ]


def _row_count(args: str, offset: int) -> list[DraftTest] | SyntaxIssue:
    compare = _COMPARISON.match(args)
    if compare is not None:
        op = {"==": "=", "!=": "<>"}.get(compare["op"], compare["op"])
        condition = f"row_count {op} {int(compare['n'])}"
    else:
        between = _BETWEEN.match(args)
        if between is None:
            return SyntaxIssue(
                "expected a comparison with a whole number", offset, _USAGE["row_count"]
            )
        low, high = int(between["lo"]), int(between["hi"])
        if low > high:
            return SyntaxIssue(f"between {low} and {high}: the range is empty", offset)
        condition = f"row_count BETWEEN {low} AND {high}"
    return [DraftTest("row_count", "error", None, [], condition=condition)]


def _expression(args: str, offset: int) -> list[DraftTest] | SyntaxIssue:
    """One SQL boolean expression over the view's columns (no queries inside)."""
    try:
        parsed = sqlglot.parse(args, read="postgres")
    except Exception as error:  # sqlglot's errors, and its bugs on odd text: this line's problem
        first = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        return SyntaxIssue(f"not a SQL expression: {first}", offset, _USAGE["expression"])
    if len(parsed) != 1 or parsed[0] is None or isinstance(parsed[0], exp.Query):
        return SyntaxIssue("expected one SQL expression", offset, _USAGE["expression"])
    if parsed[0].find(exp.Query, exp.Subquery) is not None:
        return SyntaxIssue(
            "an expression test reads only the view's own columns (no subqueries)", offset
        )
    return [DraftTest("expression", "error", None, [], condition=args)]


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]+", "_", text.lower()).strip("_") or "x"


def _default_name(draft: DraftTest) -> str:
    columns = "_".join(_slug(name) for name, _ in draft.columns)
    if draft.kind == "relationships" and draft.to_table is not None:
        return f"relationships_{columns}_{_slug(draft.to_table[0])}"
    return f"{draft.kind}_{columns}" if columns else draft.kind


def finish_tests(
    drafts: list[tuple[int, int, DraftTest]],
) -> tuple[list[DeclaredTest], list[tuple[str, int]]]:
    """Name the tests of one view (default names made unique with `_2`, `_3`...).

    `drafts` holds (line, column of the value text, draft); the second result lists the
    explicit names used again, with the line of each reuse (each a problem of the view)."""
    tests: list[DeclaredTest] = []
    taken: set[str] = {d.name for _, _, d in drafts if d.name is not None}
    explicit_seen: set[str] = set()
    duplicates: list[tuple[str, int]] = []
    for line, value_col, draft in drafts:
        if draft.name is not None:
            if draft.name in explicit_seen:
                duplicates.append((draft.name, line))
                continue
            explicit_seen.add(draft.name)
            name = draft.name
        else:
            base = _default_name(draft)[:60]
            name, n = base, 1
            while name in taken:
                n += 1
                name = f"{base}_{n}"
            taken.add(name)
        cols = [value_col + at for _, at in draft.columns]
        if draft.to_table is not None and draft.to_column is not None:
            cols += [value_col + draft.to_table[1], value_col + draft.to_column[1]]
        tests.append(
            DeclaredTest(
                name=name,
                kind=draft.kind,
                severity=draft.severity,
                columns=tuple(column for column, _ in draft.columns),
                values=draft.values,
                to_table=draft.to_table[0] if draft.to_table else None,
                to_column=draft.to_column[0] if draft.to_column else None,
                condition=draft.condition,
                line=line,
                col=value_col + draft.args_offset,
                column_cols=tuple(cols),
            )
        )
    return tests, duplicates


def parse_column(value: str, line: int, value_col: int) -> ColumnDoc | SyntaxIssue:
    """Parse the value of a `@column` line: `name[: type [not null]] [-- description]`."""
    head = _COLUMN_HEAD.match(value)
    if head is None:
        return SyntaxIssue(
            "expected `@column <name>: <type> [not null] -- <description>`",
            0,
            "e.g. `@column total: double not null -- the order's total in euros`",
        )
    rest = value[head.end() :]
    declared, _, description = rest.partition("--")
    type_text = declared.strip()
    if type_text and not head["colon"]:
        return SyntaxIssue("expected `:` between the column name and its type", head.end())
    not_null = bool(_NOT_NULL.search(" " + type_text))
    if not_null:
        type_text = _NOT_NULL.sub("", " " + type_text).strip()
        if not type_text:
            return SyntaxIssue("`not null` needs a type before it", head.end())
    type_offset = head.end() + len(declared) - len(declared.lstrip())
    return ColumnDoc(
        name=identifier(head["name"]),
        type=type_text or None,
        not_null=not_null,
        description=description.strip(),
        line=line,
        col=value_col,
        type_col=value_col + type_offset if type_text else 0,
    )
