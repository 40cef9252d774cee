"""Parse one view's SQL and find what it reads: the first pass of the compiler.

Only a single read-only query is accepted. Source tables come from sqlglot scopes, so a CTE
name shadows a table of the same name without hiding a real table read elsewhere.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.optimizer.scope import traverse_scope
from sqlglot.tokenizer_core import Token, TokenType

from cpg_core.problems import Problem, ProblemCode
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
    ast: exp.Query | exp.Values | None
    tables: dict[str, Position | None] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    # Tables named like a CTE of a non-recursive WITH: likely a CTE that reads itself.
    cte_named_tables: set[str] = field(default_factory=set)
    # sqlglot could not parse the text: its problem waits for DataFusion's verdict (DataFusion
    # may plan it), and every word of the text that could name a table is a candidate input.
    deferred: list[Problem] = field(default_factory=list)
    candidates: tuple[str, ...] = ()


def node_position(node: exp.Expr, text: str) -> Position | None:
    """Where a node starts in `text` (the view's SQL), from the token metadata sqlglot keeps on
    identifiers. The character offset is used, not sqlglot's line:col: after a `$` that opens
    no dollar-quoted string, sqlglot's tokenizer rewinds its offset but not its line count, so
    every later line number is off (sqlglot 30.30)."""
    target = node
    if not isinstance(node, exp.Identifier):
        found = node.find(exp.Identifier)
        if found is None:
            return None
        target = found
    meta = target.meta
    if "start" in meta:
        return offset_position(text, int(meta["start"]))
    if "line" not in meta:
        return None
    width = int(meta.get("end", 0)) - int(meta.get("start", 0))
    return Position(line=int(meta["line"]), col=max(1, int(meta["col"]) - width))


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines of a view as sqlglot numbers them: `\\n`, `\\r\\n` or a lone `\\r` ends one."""
    return _LINE_BREAK.split(text)


def first_token_position(text: str) -> Position:
    """Position of the first SQL token after the leading comment block (for engine errors)."""
    for lineno, line in enumerate(split_lines(text), start=1):
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


_MISSING_DELIMITER = re.compile(r"Missing (?P<delimiter>.+) from \d+:(?P<offset>\d+)$")
_TOKEN_CONTEXT = 50  # characters sqlglot's tokenizer quotes on each side of where it failed


def offset_position(text: str, offset: int) -> Position:
    """The 1-based line:column of a character offset (lines as `split_lines` counts them)."""
    before = split_lines(text[: max(0, min(offset, len(text)))])
    return Position(line=len(before), col=len(before[-1]) + 1)


def engine_position(text: str, line: int, col: int) -> Position:
    """A DataFusion parser position (its lines end at `\\n` only) as a position of ours."""
    lines = text.split("\n")
    line = min(max(line, 1), len(lines))
    offset = sum(len(part) + 1 for part in lines[: line - 1])
    return offset_position(text, offset + min(max(col, 1), len(lines[line - 1]) + 1) - 1)


def _token_error(view: ViewDef, error: TokenError) -> Problem:
    """A tokenizer failure (unterminated string, identifier or comment...) with a position."""
    inner = error.__cause__ or error.__context__
    missing = _MISSING_DELIMITER.search(str(inner)) if isinstance(inner, TokenError) else None
    if missing is not None:
        delimiter = missing["delimiter"]
        pos = offset_position(view.sql, int(missing["offset"]))
        message = f"{delimiter} is never closed (unterminated string, identifier or comment)"
        return _problem(view, ProblemCode.SYNTAX_ERROR, message, pos)
    if isinstance(inner, IndexError) and "/*" in view.sql:  # ran off the end inside a comment
        opens = [m.start() for m in re.finditer(r"/\*", view.sql)]
        unclosed = [o for o in opens if "*/" not in view.sql[o + 2 :]]
        pos = offset_position(view.sql, (unclosed or opens)[-1 if unclosed else 0])
        return _problem(view, ProblemCode.SYNTAX_ERROR, "a /* comment is never closed", pos)
    start, end = error.start, error.end
    if start:  # the tokenizer quotes _TOKEN_CONTEXT characters before where it stopped
        pos = offset_position(view.sql, start + _TOKEN_CONTEXT)
    elif end is not None and end < len(view.sql) - 1:
        pos = offset_position(view.sql, end - _TOKEN_CONTEXT)
    else:
        pos = first_token_position(view.sql)
    return _problem(view, ProblemCode.SYNTAX_ERROR, "the SQL cannot be split into tokens here", pos)


def internal_problem(view: ViewDef, code: ProblemCode, error: Exception) -> Problem:
    """A failure of the SQL tools on this view's text (a bug of theirs or ours): still a
    problem of this one view, never a failed compile."""
    detail = " ".join(str(error).split())[:300]
    return _problem(
        view,
        code,
        f"internal error while analyzing this view ({type(error).__name__}: {detail})",
        first_token_position(view.sql),
        hint="please report it with the view's SQL",
    )


def too_deep(view: ViewDef, code: ProblemCode) -> Problem:
    """The query nests deeper than the SQL tools can follow (Python's recursion limit)."""
    return _problem(
        view,
        code,
        "the query is nested too deeply to analyze (expressions, subqueries or parentheses)",
        first_token_position(view.sql),
        hint="flatten the nesting, e.g. with CTEs",
    )


def _parse_error(view: ViewDef, error: ParseError | TokenError) -> Problem:
    if isinstance(error, TokenError):
        return _token_error(view, error)
    if error.errors:
        first = error.errors[0]
        line, col = first.get("line"), first.get("col")
        highlight = str(first.get("highlight") or "")
        description = str(first.get("description") or error).split("<Token")[0].strip()
        description = _CLASS_REPR.sub(lambda m: m.group(1), description)
        pos = None
        before = str(first.get("start_context") or "")
        window = before + highlight + str(first.get("end_context") or "")
        at = view.sql.find(window) if window else -1
        if at >= 0:  # the quoted context is exact; sqlglot's line count may not be (above)
            pos = offset_position(view.sql, at + len(before))
        elif isinstance(line, int) and isinstance(col, int):
            pos = Position(line=line, col=max(1, col - max(len(highlight), 1) + 1))
        near = f" near {highlight!r}" if highlight else ""
        return _problem(view, ProblemCode.SYNTAX_ERROR, f"{description}{near}", pos)
    return _problem(view, ProblemCode.SYNTAX_ERROR, str(error), None)


# Deeper expression trees are rejected before DataFusion sees them: planning a 30,000-term
# `1 + 1 + ...` overflows its stack (SIGSEGV kills the process) and time grows quadratically.
MAX_DEPTH = 1000
_WRITES = (exp.Into, exp.Insert, exp.Delete, exp.Update, exp.Create, exp.Drop, exp.Merge)
_WATCHED = (exp.With, exp.Lateral, *_WRITES)


def _check_read_only(
    view: ViewDef, ast: exp.Expr, withs: list[exp.With], laterals: list[exp.Lateral]
) -> Problem | None:
    """Reject anything but one read-only query of a sane depth; collect the WITH and LATERAL
    clauses in the same walk (one walk per view: it is on the compile's hot path)."""
    if not isinstance(ast, exp.Query | exp.Values):
        kind = ast.key.upper()
        return _problem(
            view,
            ProblemCode.FORBIDDEN_STATEMENT,
            f"a view must be one read-only query (SELECT, WITH or a set operation), not {kind}",
            first_token_position(view.sql),
        )
    deepest: exp.Expr = ast
    for node in ast.bfs():  # breadth-first: the last node is on the deepest level
        deepest = node
        if not isinstance(node, _WATCHED):
            continue
        if isinstance(node, exp.With):
            withs.append(node)
            continue
        if isinstance(node, exp.Lateral):
            laterals.append(node)
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
            node_position(node, view.sql) or first_token_position(view.sql),
        )
    if deepest.depth > MAX_DEPTH:
        return _problem(
            view,
            ProblemCode.PLANNING_ERROR,
            f"the query nests {deepest.depth} levels deep (a long chain of operators, UNIONs or "
            f"nested expressions); at most {MAX_DEPTH} can be planned safely",
            node_position(deepest, view.sql) or first_token_position(view.sql),
            hint="flatten it: CTEs, IN lists, CASE, or fewer chained operators",
        )
    return None


def depth_error(sql: str) -> str | None:
    """Why ad-hoc SQL (`cpg query`) is too deeply nested to hand to DataFusion, or None.

    The same limit as for views: past it DataFusion's planner can overflow its stack and kill
    the process. Text sqlglot cannot parse is left to DataFusion, which reports its own error.
    """
    try:
        ast = sqlglot.parse_one(sql, read="postgres")
        deepest = max((node.depth for node in ast.bfs()), default=0)
    except RecursionError:
        return f"the query nests more than {MAX_DEPTH} levels deep"
    except Exception:  # sqlglot's parse errors: DataFusion says what is wrong
        return None
    if deepest > MAX_DEPTH:
        return f"the query nests {deepest} levels deep; at most {MAX_DEPTH} can be planned safely"
    return None


def parse_view(view: ViewDef) -> ParsedView:
    """Parse, check the statement kind, and collect source tables (CTE-aware, via scopes).

    Never raises for a view's text: every failure is a problem of this view."""
    try:
        return _parse_view(view)
    except RecursionError:
        return ParsedView(view=view, ast=None, problems=[too_deep(view, ProblemCode.SYNTAX_ERROR)])
    except Exception as error:  # a bug of sqlglot (or ours) on odd text: DataFusion decides
        return unparsed(view, internal_problem(view, ProblemCode.SYNTAX_ERROR, error))


def unparsed(view: ViewDef, problem: Problem) -> ParsedView:
    """A view sqlglot cannot follow: its problem is deferred to DataFusion's verdict, unless the
    text is too long to hand DataFusion without knowing how deeply it nests."""
    tokens = _tokens(view.sql)
    if tokens is not None and len(tokens) > MAX_FALLBACK_TOKENS:
        return ParsedView(view=view, ast=None, problems=[problem])
    candidates = tuple(c for c in table_candidates(view.sql, tokens) if c != view.name)
    return ParsedView(view=view, ast=None, deferred=[problem], candidates=candidates)


# Past this many tokens, text sqlglot cannot parse is not handed to DataFusion: its nesting
# depth is unknown, and a deep enough expression overflows DataFusion's stack (`MAX_DEPTH`).
MAX_FALLBACK_TOKENS = 2 * MAX_DEPTH  # at most ~1,000 binary operators
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NOT_NAMES = frozenset({TokenType.STRING, TokenType.NUMBER, TokenType.NATIONAL_STRING})


def _tokens(sql: str) -> list[Token] | None:
    try:
        return Dialect.get_or_raise(DIALECT).tokenize(sql)
    except Exception:  # sqlglot's tokenizer gave up on odd text: the words are found by regex
        return None


def is_recursive(sql: str) -> bool:
    """Whether the query has a `WITH RECURSIVE` (by its tokens: not in a comment or string).
    Text the tokenizer cannot read is taken as not recursive. Tokenizing only text that holds
    the word keeps it cheap: a build asks for every view on every run."""
    if "recursive" not in sql.lower():
        return False
    tokens = _tokens(sql) or []
    return any(
        a.token_type is TokenType.WITH and b.token_type is TokenType.RECURSIVE
        for a, b in itertools.pairwise(tokens)
    )


def is_keyword(word: str) -> bool:
    """Whether sqlglot reads `word` as a SQL keyword."""
    return word.upper() in Dialect.get_or_raise(DIALECT).tokenizer_class.KEYWORDS


def table_candidates(sql: str, tokens: list[Token] | None = None) -> tuple[str, ...]:
    """Every word of `sql` that could name a table, normalized like an identifier (quoted: as
    written; else lower-case). A superset of what the view reads: DataFusion's plan of the view
    over the candidates that exist tells which ones it really reads."""
    tokens = tokens if tokens is not None else _tokens(sql)
    if tokens is None:
        return tuple(sorted({w.lower() for w in _WORD.findall(sql)}))
    names: set[str] = set()
    for token in tokens:
        if token.token_type is TokenType.IDENTIFIER:
            names.add(token.text)
        elif token.token_type not in _NOT_NAMES and _WORD.fullmatch(token.text):
            names.add(token.text.lower())
    return tuple(sorted(names))


def _parse_view(view: ViewDef) -> ParsedView:
    try:
        statements = [s for s in sqlglot.parse(view.sql, read=DIALECT) if s is not None]
    except (ParseError, TokenError) as error:
        return unparsed(view, _parse_error(view, error))
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
    laterals: list[exp.Lateral] = []
    forbidden = _check_read_only(view, ast, withs, laterals)
    if forbidden is not None or not isinstance(ast, exp.Query | exp.Values):
        return ParsedView(view=view, ast=None, problems=[forbidden] if forbidden else [])
    parsed = ParsedView(view=view, ast=ast)
    plain_ctes = {
        cte.alias_or_name.lower()
        for with_ in withs
        if not with_.args.get("recursive")
        for cte in with_.expressions
    }
    try:
        _collect_tables(parsed, ast, plain_ctes, laterals)
    except SqlglotError as error:  # scope building rejects some shapes sqlglot parsed
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        return unparsed(
            view,
            _problem(view, ProblemCode.SYNTAX_ERROR, message, first_token_position(view.sql)),
        )
    return parsed


def _table_function_name(node: exp.Expr) -> str | None:
    """The SQL name of a function read as a table (None: not a function at all)."""
    if isinstance(node, exp.Anonymous):
        return str(node.name).lower()
    if isinstance(node, exp.ExplodingGenerateSeries | exp.GenerateSeries):
        return "generate_series"
    if isinstance(node, exp.Unnest):
        return "unnest"
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return None


def _table_function_problem(
    view: ViewDef, where: exp.Expr, node: exp.Expr | None
) -> Problem | None:
    """Only table functions that read nothing outside the query are allowed (no file readers);
    anything else in a table's place (a parameter, a placeholder) is no table either."""
    name = _table_function_name(node) if node is not None else None
    if name in ALLOWED_TABLE_FUNCTIONS:
        return None
    text = (node or where).sql(dialect=DIALECT)
    message = (
        f"table function {text!r} is not allowed in a view"
        if name is not None
        else f"{text!r} is not a table name"
    )
    return _problem(
        view,
        ProblemCode.FORBIDDEN_STATEMENT,
        message,
        node_position(where, view.sql) or first_token_position(view.sql),
        hint="views read views and input tables by name; "
        + "allowed table functions: "
        + ", ".join(sorted(ALLOWED_TABLE_FUNCTIONS)),
    )


def _collect_tables(
    parsed: ParsedView,
    ast: exp.Query | exp.Values,
    plain_ctes: set[str],
    laterals: list[exp.Lateral],
) -> None:
    """Source tables of every scope (CTE names shadow), forbidden table functions, positions."""
    view = parsed.view
    for lateral in laterals:  # LATERAL f(...) is no exp.Table source
        function = lateral.this
        if isinstance(function, exp.Func):
            problem = _table_function_problem(view, lateral, function)
            if problem is not None:
                parsed.problems.append(problem)
    for scope in traverse_scope(ast):
        for source in scope.sources.values():
            if not isinstance(source, exp.Table):
                continue
            if not isinstance(source.this, exp.Identifier):
                problem = _table_function_problem(view, source, source.this)
                if problem is not None:
                    parsed.problems.append(problem)
                continue
            if source.args.get("db") is not None:
                parsed.problems.append(
                    _problem(
                        view,
                        ProblemCode.UNKNOWN_TABLE,
                        f"qualified table name {source.sql(dialect=DIALECT)!r} is not supported",
                        node_position(source, view.sql),
                        hint="refer to views and input tables by their plain name",
                        table=source.name,
                    )
                )
                continue
            ident = source.this
            name = ident.this if ident.quoted else ident.this.lower()  # postgres identifier rules
            parsed.tables.setdefault(name, node_position(source, view.sql))
            if name in plain_ctes:
                parsed.cte_named_tables.add(name)
