"""Parse one view's SQL and find what it reads: the first pass of the compiler.

Only a single read-only query is accepted. Source tables come from sqlglot scopes, so a CTE
name shadows a table of the same name without hiding a real table read elsewhere.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.optimizer.scope import traverse_scope

from cpg_core.plan.problems import Problem, ProblemCode
from cpg_core.views.model import ViewDef

DIALECT = "postgres"
_CLASS_REPR = re.compile(r"<class '(?:[\w.]+\.)?(\w+)'>")
# Table functions that read nothing outside the query (anything else could read files).
ALLOWED_TABLE_FUNCTIONS = frozenset({"generate_series", "range", "unnest"})


@dataclass(frozen=True)
class Position:
    """1-based line and column of a token in the view file."""

    line: int
    col: int


@dataclass
class ParsedView:
    """A view after parsing: its AST (None when it failed) and the tables it reads."""

    view: ViewDef
    ast: exp.Query | None
    tables: dict[str, Position | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Tables named like a CTE of a non-recursive WITH: likely a CTE that reads itself.
    cte_named_tables: set[str] = field(default_factory=set)


def node_position(node: exp.Expr) -> Position | None:
    """Where a node starts in the source, from the token metadata sqlglot keeps on identifiers."""
    target = node
    if not isinstance(node, exp.Identifier):
        found = node.find(exp.Identifier)
        if found is None:
            return None
        target = found
    meta = target.meta
    if "line" not in meta:
        return None
    width = int(meta.get("end", 0)) - int(meta.get("start", 0))
    return Position(line=int(meta["line"]), col=max(1, int(meta["col"]) - width))


def first_token_position(text: str) -> Position:
    """Position of the first SQL token after the leading comment block (for engine errors)."""
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("--"):
            return Position(line=lineno, col=len(line) - len(line.lstrip()) + 1)
    return Position(line=1, col=1)


def _problem(
    view: ViewDef, code: ProblemCode, message: str, pos: Position | None, **kw: str
) -> Problem:
    return Problem(
        code=code,
        view=view.name,
        path=view.path,
        line=pos.line if pos else None,
        col=pos.col if pos else None,
        message=message,
        **kw,
    )


def _parse_error(view: ViewDef, error: ParseError | TokenError) -> Problem:
    if isinstance(error, ParseError) and error.errors:
        first = error.errors[0]
        line, col = first.get("line"), first.get("col")
        highlight = str(first.get("highlight") or "")
        description = str(first.get("description") or error).split("<Token")[0].strip()
        description = _CLASS_REPR.sub(lambda m: m.group(1), description)
        pos = None
        if isinstance(line, int) and isinstance(col, int):
            pos = Position(line=line, col=max(1, col - max(len(highlight), 1) + 1))
        near = f" near {highlight!r}" if highlight else ""
        return _problem(view, ProblemCode.SYNTAX_ERROR, f"{description}{near}", pos)
    return _problem(view, ProblemCode.SYNTAX_ERROR, str(error), None)


_WRITES = (exp.Into, exp.Insert, exp.Delete, exp.Update, exp.Create, exp.Drop, exp.Merge)


def _check_read_only(view: ViewDef, ast: exp.Expr, withs: list[exp.With]) -> Problem | None:
    """Reject anything but one read-only query; collect the WITH clauses in the same walk."""
    if not isinstance(ast, exp.Query):
        kind = ast.key.upper()
        return _problem(
            view,
            ProblemCode.FORBIDDEN_STATEMENT,
            f"a view must be one read-only query (SELECT, WITH or a set operation), not {kind}",
            first_token_position(view.sql),
        )
    for node in ast.find_all(exp.With, *_WRITES):
        if isinstance(node, exp.With):
            withs.append(node)
            continue
        message = (
            "SELECT ... INTO writes a table; a view must only read"
            if isinstance(node, exp.Into)
            else f"{node.key.upper()} is not allowed inside a view"
        )
        return _problem(
            view,
            ProblemCode.FORBIDDEN_STATEMENT,
            message,
            node_position(node) or first_token_position(view.sql),
        )
    return None


def parse_view(view: ViewDef) -> ParsedView:
    """Parse, check the statement kind, and collect source tables (CTE-aware, via scopes)."""
    try:
        statements = [s for s in sqlglot.parse(view.sql, read=DIALECT) if s is not None]
    except (ParseError, TokenError) as error:
        return ParsedView(view=view, ast=None, problems=[_parse_error(view, error)])
    if len(statements) != 1:
        what = "no statement" if not statements else f"{len(statements)} statements"
        return ParsedView(
            view=view,
            ast=None,
            problems=[
                _problem(
                    view,
                    ProblemCode.FORBIDDEN_STATEMENT,
                    f"a view file must hold exactly one query, found {what}",
                    first_token_position(view.sql),
                )
            ],
        )
    ast = statements[0]
    withs: list[exp.With] = []
    forbidden = _check_read_only(view, ast, withs)
    if forbidden is not None or not isinstance(ast, exp.Query):
        return ParsedView(view=view, ast=None, problems=[forbidden] if forbidden else [])
    parsed = ParsedView(view=view, ast=ast)
    plain_ctes = {
        cte.alias_or_name.lower()
        for with_ in withs
        if not with_.args.get("recursive")
        for cte in with_.expressions
    }
    for scope in traverse_scope(ast):
        for source in scope.sources.values():
            if not isinstance(source, exp.Table):
                continue
            if not isinstance(source.this, exp.Identifier):
                function = source.this
                name = function.name.lower() if isinstance(function, exp.Func) else ""
                if isinstance(function, exp.Func) and name not in ALLOWED_TABLE_FUNCTIONS:
                    parsed.problems.append(
                        _problem(
                            view,
                            ProblemCode.FORBIDDEN_STATEMENT,
                            f"table function {function.sql()!r} is not allowed in a view",
                            node_position(source) or first_token_position(view.sql),
                        )
                    )
                continue
            if source.args.get("db") is not None:
                parsed.problems.append(
                    _problem(
                        view,
                        ProblemCode.UNKNOWN_TABLE,
                        f"qualified table name {source.sql(dialect=DIALECT)!r} is not supported",
                        node_position(source),
                        hint="refer to views and input tables by their plain name",
                        table=source.name,
                    )
                )
                continue
            ident = source.this
            name = ident.this if ident.quoted else ident.this.lower()  # postgres identifier rules
            parsed.tables.setdefault(name, node_position(source))
            if name in plain_ctes:
                parsed.cte_named_tables.add(name)
    return parsed
