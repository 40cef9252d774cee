"""Hostile views: mutated and random SQL compiled next to the built-in CPG.

The compiler must never raise on a view's text: every mistake comes back as a validation problem
with a code (and a line:column wherever the problem has a place in the file), the hostile views
are not admitted unless they really are one sound read-only query, and the built-in CPG views
stay admitted with unchanged fingerprints. Nothing is written outside the store.

Examples per property: `CPG_HYPOTHESIS_EXAMPLES` (default: a CI-sized count).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.cli import main as cpg_main
from cpg_core.extract.schema import EVIDENCE_SCHEMAS
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.problems import Problem, ProblemCode
from cpg_core.project import Project, load_project
from cpg_core.views.loader import builtin_views_dir, view_from_text
from cpg_core.views.model import ViewDef

EXAMPLES = int(os.environ.get("CPG_HYPOTHESIS_EXAMPLES", "0")) or None
HOSTILE_NAMES = ("h0", "h1", "h2")
# Problems that belong to a place in the file; the others (names, duplicates, upstream) do not.
POSITIONED = frozenset(
    {
        ProblemCode.SYNTAX_ERROR,
        ProblemCode.FORBIDDEN_STATEMENT,
        ProblemCode.UNKNOWN_TABLE,
        ProblemCode.UNKNOWN_COLUMN,
        ProblemCode.TYPE_MISMATCH,
        ProblemCode.PLANNING_ERROR,
        ProblemCode.CYCLE,
        ProblemCode.INVALID_METADATA,
    }
)


def _examples(default: int) -> int:
    return EXAMPLES or default


# -- the material: built-in views, schema names, hostile fragments ---------------------------

BUILTIN_SQL: dict[str, str] = {
    path.stem: path.read_text(encoding="utf-8")
    for path in sorted(builtin_views_dir().glob("*.sql"))
}
TABLE_NAMES = sorted(set(BUILTIN_SQL) | set(EVIDENCE_SCHEMAS))
COLUMN_NAMES = sorted({name for schema in EVIDENCE_SCHEMAS.values() for name in schema.names})
TOKEN = re.compile(
    r"--[^\n]*|/\*.*?\*/|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|[A-Za-z_][A-Za-z0-9_]*"
    r"|\d+(?:\.\d+)?|\s+|.",
    re.DOTALL,
)
KEYWORDS = (
    "SELECT", "FROM", "WHERE", "GROUP BY", "ORDER BY", "HAVING", "JOIN", "LEFT JOIN",
    "CROSS JOIN", "FULL OUTER JOIN", "ON", "USING", "UNION", "UNION ALL", "INTERSECT", "EXCEPT",
    "WITH", "WITH RECURSIVE", "AS", "CASE", "WHEN", "THEN", "ELSE", "END", "CAST", "TRY_CAST",
    "NULL", "NOT", "AND", "OR", "IN", "EXISTS", "DISTINCT", "DISTINCT ON", "LIMIT", "OFFSET",
    "OVER", "PARTITION BY", "ROWS BETWEEN", "FILTER", "WINDOW", "QUALIFY", "VALUES", "LATERAL",
    "INSERT", "UPDATE", "DELETE", "MERGE", "DROP", "CREATE", "ALTER", "TRUNCATE", "COPY", "SET",
    "EXPLAIN", "ANALYZE", "SHOW", "DESCRIBE", "PREPARE", "EXECUTE", "ATTACH", "LOAD", "INSTALL",
    "PRAGMA", "TABLE", "VIEW", "EXTERNAL", "LOCATION", "STORED AS", "TO", "INTO", "RETURNING",
    "GRANT", "CALL", "BEGIN", "COMMIT", "USE", "DECLARE", "FETCH",
)  # fmt: skip
FRAGMENTS = (
    "read_parquet('/etc/passwd')", "read_csv('data.csv')", "read_json('x.json')",
    "parquet_scan('x.parquet')", "'/etc/passwd'", '"/etc/passwd"', "'../x.parquet'",
    "\"../../x.csv\"", "'file:///etc/passwd'", "'s3://bucket/key.parquet'", "'https://x/y.csv'",
    "; COPY (SELECT 1) TO 'hostile_copy.parquet'", "; DROP TABLE files",
    "; CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc'", "; SET x = 1",
    "; INSERT INTO files VALUES (1)", "INTO hostile_into", "/* unterminated", "'unterminated",
    '"unterminated', "$$", "$tag$", "\x00", "\u202e", "\u2028", "\x0b", "\x0c", "\x85", "\r\n", "\U0001f600", "\u00f1", "\ufeff", "\r",
    "\t", "\\", "`", "[", "]", "{", "}", "::", "->>", "@", "#", "?", "$1", ":name", "%s",
    "(" * 60, ")" * 60, "9" * 5000, "1e400", "-9223372036854775809", "x'00ff'", "E'\\x00'",
    "'" + "x" * 100_000 + "'", "UNNEST([1, 2])", "generate_series(1, 3)", "range(5)",
    "information_schema.tables", "datafusion.public.files", "pg_catalog.pg_tables",
    "files.path.x.y", "\"files\"", "\"FILES\"", "h0", "h1", "h2", "*", ",", ";", "(", ")",
)  # fmt: skip
STATEMENTS = (
    "COPY (SELECT * FROM files) TO 'hostile_copy.parquet'",
    "COPY files TO 'hostile_copy.csv' STORED AS CSV",
    "CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '/etc/'",
    "CREATE TABLE t AS SELECT * FROM files",
    "CREATE VIEW v AS SELECT * FROM files",
    "INSERT INTO files SELECT * FROM files",
    "UPDATE files SET path = 'x'",
    "DELETE FROM files",
    "DROP TABLE files",
    "TRUNCATE files",
    "SET datafusion.execution.target_partitions = 1",
    "SELECT * INTO hostile_into FROM files",
    "EXPLAIN SELECT * FROM files",
    "SHOW TABLES",
    "SHOW ALL",
    "DESCRIBE files",
    "PREPARE p AS SELECT 1",
    "ATTACH DATABASE '/tmp/x.db' AS x",
    "SELECT * FROM read_parquet('/etc/passwd')",
    "SELECT * FROM read_csv('data/orders.csv')",
    "SELECT * FROM '/etc/passwd'",
    "SELECT * FROM 'data/x.parquet'",
    "SELECT 1 AS x; SELECT 2 AS y",
    "SELECT 1 AS x;; SELECT",
    "WITH t AS (DELETE FROM files RETURNING *) SELECT * FROM t",
    "SELECT * FROM files WHERE path IN (SELECT * FROM read_csv('/etc/passwd'))",
    "VALUES (1, 2)",
    "TABLE files",
    "",
    ";",
    "-- only a comment",
)


def _tokens(sql: str) -> list[str]:
    return TOKEN.findall(sql)


# -- strategies --------------------------------------------------------------------------------

Mutation = Callable[[st.DrawFn, list[str]], list[str]]


def _index(draw: st.DrawFn, tokens: list[str]) -> int:
    return draw(st.integers(0, max(len(tokens) - 1, 0)))


def _delete(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    i = _index(draw, tokens)
    return tokens[:i] + tokens[i + 1 :]


def _duplicate(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    i = _index(draw, tokens)
    return tokens[: i + 1] + tokens[i:]


def _swap(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    i, j = _index(draw, tokens), _index(draw, tokens)
    out = list(tokens)
    if out:
        out[i], out[j] = out[j], out[i]
    return out


def _truncate(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    text = "".join(tokens)
    return [text[: draw(st.integers(0, len(text)))]]


def _inject(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    word = draw(
        st.one_of(
            st.sampled_from(KEYWORDS),
            st.sampled_from(FRAGMENTS),
            st.sampled_from(TABLE_NAMES),
            st.sampled_from(COLUMN_NAMES),
            st.text(max_size=12),
        )
    )
    i = _index(draw, tokens)
    return [*tokens[:i], " ", word, " ", *tokens[i:]]


def _rename(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    """Replace one identifier: a random one, another table, another column, a hostile view."""
    words = [i for i, t in enumerate(tokens) if re.fullmatch(r"[A-Za-z_]\w*", t)]
    if not words:
        return tokens
    i = draw(st.sampled_from(words))
    new = draw(
        st.one_of(
            st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True),
            st.sampled_from(TABLE_NAMES),
            st.sampled_from(COLUMN_NAMES),
            st.sampled_from(HOSTILE_NAMES),
            st.sampled_from(['"' + t.upper() + '"' for t in TABLE_NAMES[:5]]),
        )
    )
    return [*tokens[:i], new, *tokens[i + 1 :]]


def _nest(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    """Deep nesting of the whole query or of one expression."""
    text = "".join(tokens)
    depth = draw(st.sampled_from([2, 10, 49, 51, 120, 400, 3000]))
    kind = draw(st.sampled_from(["subquery", "parens", "function", "case", "chain", "not"]))
    if kind == "subquery":
        return ["SELECT * FROM (" * depth + text + "".join(f") AS t{i}" for i in range(depth))]
    expr = {
        "parens": "(" * depth + "1" + ")" * depth,
        "function": "abs(" * depth + "1" + ")" * depth,
        "case": "CASE WHEN true THEN " * depth + "1" + " END" * depth,
        "chain": " + ".join(["1"] * min(depth, 400)),
        "not": "NOT " * depth + "true",
    }[kind]
    i = _index(draw, tokens)
    return [*tokens[:i], " ", expr, " AS deep, ", *tokens[i:]]


METADATA_KEYS = ("keys", "materialize", "layer", "entity", "grain", "owners", "tags", "nope", "")


def _metadata(draw: st.DrawFn, tokens: list[str]) -> list[str]:
    """A `-- @key: value` line in front: known and unknown keys, odd values."""
    key = draw(st.sampled_from(METADATA_KEYS))
    value = draw(
        st.one_of(
            st.sampled_from(["inline", "table", "view", "", "edge_id", "nope, x", "a" * 300]),
            st.sampled_from(COLUMN_NAMES),
            st.text(max_size=20).map(lambda t: t.replace("\n", " ")),
        )
    )
    return [f"-- @{key}: {value}\n", *tokens]


MUTATIONS: tuple[Mutation, ...] = (
    _metadata,
    _delete,
    _duplicate,
    _swap,
    _truncate,
    _inject,
    _inject,
    _rename,
    _rename,
    _nest,
)


@st.composite
def mutated_builtin(draw: st.DrawFn) -> str:
    """A built-in CPG view with 1-4 token-level mutations."""
    tokens = _tokens(draw(st.sampled_from(sorted(BUILTIN_SQL.values()))))
    for _ in range(draw(st.integers(1, 4))):
        tokens = draw(st.sampled_from(MUTATIONS))(draw, tokens)
    return "".join(tokens)


@st.composite
def token_soup(draw: st.DrawFn) -> str:
    """Random sequences of SQL words over the CPG schema (often close to a query)."""
    vocabulary = st.one_of(
        st.sampled_from(KEYWORDS),
        st.sampled_from(TABLE_NAMES),
        st.sampled_from(COLUMN_NAMES),
        st.sampled_from(FRAGMENTS[-12:]),
        st.sampled_from(["=", "<", "+", "-", "/", "||", "1", "'a'", "true", "count(*)"]),
    )
    words = draw(st.lists(vocabulary, min_size=1, max_size=30))
    return ("SELECT " if draw(st.booleans()) else "") + " ".join(words)


def random_text(*, surrogates: bool) -> st.SearchStrategy[str]:
    """Any text at all: unicode, control characters, NUL bytes (lone surrogates: only a view
    built in code can hold one, a file cannot)."""
    texts = [
        st.text(max_size=200),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
        st.text(alphabet="selct*fromwhe ()'\";,.\x00\n-/", max_size=120),
    ]
    if surrogates:
        any_char = st.characters(categories=["Cs", "Ll", "Zs", "Po"])
        texts.append(st.text(alphabet=any_char, max_size=40).map(lambda t: f"SELECT '{t}' AS x"))
    return st.one_of(*texts)


def hostile_sql(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    return st.one_of(
        mutated_builtin(),
        mutated_builtin(),
        token_soup(),
        st.sampled_from(STATEMENTS),
        random_text(surrogates=surrogates),
    )


# -- compiling next to the built-in CPG -------------------------------------------------------


class Workspace:
    """A project with the built-in CPG whose compile cache is warm (so examples are fast)."""

    def __init__(self, root: Path, project: Project, baseline: ExecutionPlan) -> None:
        self.root = root
        self.project = project
        self.baseline = baseline

    def __repr__(self) -> str:  # hypothesis prints the arguments of a failing example
        return f"Workspace({self.root})"

    def files(self) -> set[str]:
        """Every path under the workspace except the store's internals."""
        return {
            p.relative_to(self.root).as_posix()
            for p in self.root.rglob("*")
            if self.project.store not in p.parents and p != self.project.store
        }


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    root = tmp_path_factory.mktemp("hostile")
    project = Project.from_views([], store=root / "store", include_cpg=True, repo=root)
    baseline = compile_plan(project, cache=True)
    assert not baseline.problems, [p.format() for p in baseline.problems]
    cwd = Path.cwd()
    os.chdir(root)  # a relative path a hostile view names would land here
    try:
        yield Workspace(root=root, project=project, baseline=baseline)
    finally:
        os.chdir(cwd)


def _hostile_views(texts: Sequence[str] | Mapping[str, str]) -> list[ViewDef]:
    named = texts if isinstance(texts, Mapping) else dict(zip(HOSTILE_NAMES, texts, strict=False))
    return [view_from_text(name, text, path=f"views/{name}.sql")[0] for name, text in named.items()]


def _line_lengths(text: str) -> list[int]:
    """Lengths of the lines as sqlglot numbers them (`\\n`, `\\r\\n` or `\\r` end one)."""
    return [len(line) for line in re.split(r"\r\n|\r|\n", text)]


def check_problem_shape(problem: Problem, texts: Mapping[str, str]) -> None:
    """A problem names a hostile view, has a stable code, and a position inside the file."""
    assert isinstance(problem.code, ProblemCode)
    assert problem.view in texts, problem.format()
    assert problem.message.strip(), problem.format()
    assert "\n" not in problem.format() and "\r" not in problem.format()  # one line, always
    if problem.code not in POSITIONED:
        return
    assert problem.line is not None and problem.col is not None, problem.format()
    lines = _line_lengths(texts[problem.view])
    assert 1 <= problem.line <= len(lines), problem.format()
    assert 1 <= problem.col <= lines[problem.line - 1] + 1, problem.format()


def check_plan(ws: Workspace, plan: ExecutionPlan, texts: Mapping[str, str]) -> None:
    """The contract of a compile over hostile views."""
    for name, task in ws.baseline.tasks.items():  # the rest of the plan is untouched
        assert plan.tasks[name].admitted, name
        assert plan.tasks[name].fingerprint == task.fingerprint, name
    for problem in plan.problems:
        check_problem_shape(problem, texts)
    for name in texts:
        named = [p for p in plan.problems if p.view == name]
        task = plan.tasks.get(name)
        if task is None:  # not even a task (text that is no Unicode): a problem says why
            assert [p.code for p in named] == [ProblemCode.SYNTAX_ERROR], named
        elif task.admitted:
            assert not named, [p.format() for p in named]
            assert task.output_schema is not None
            assert re.fullmatch(r"[0-9a-f]{64}", task.fingerprint)
            assert all(t in plan.tasks or t in plan.datasets for t in task.inputs)
        else:
            assert named, f"{name} is not admitted but no problem says why"
    assert set(plan.schedule.order) == {n for n, t in plan.tasks.items() if t.admitted}


def compile_hostile(
    ws: Workspace, texts: Sequence[str] | Mapping[str, str]
) -> tuple[ExecutionPlan, dict[str, str]]:
    views = _hostile_views(texts)
    before = ws.files()
    plan = compile_plan(ws.project, views=views, cache=True)
    assert ws.files() == before, "compiling wrote outside the store"
    return plan, {v.name: v.sql for v in views}


# -- the properties ------------------------------------------------------------------------


@settings(
    max_examples=_examples(30),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(hostile_sql(surrogates=True), min_size=1, max_size=3))
def test_hostile_views_only_ever_give_problems(workspace: Workspace, texts: list[str]) -> None:
    plan, named = compile_hostile(workspace, texts)
    check_plan(workspace, plan, named)
    # The compile cache round-trips whatever the problems hold: a warm compile says the same.
    again, _ = compile_hostile(workspace, texts)
    assert again.problems == plan.problems
    assert {n: t.fingerprint for n, t in again.tasks.items()} == {
        n: t.fingerprint for n, t in plan.tasks.items()
    }


@settings(
    max_examples=_examples(10),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(hostile_sql(), min_size=0, max_size=2),
    st.sampled_from(STATEMENTS),
    st.sampled_from(["text", "json", "dot", "mermaid", "node-link"]),
)
def test_cpg_plan_exits_one_never_a_traceback(
    workspace: Workspace, texts: list[str], statement: str, fmt: str
) -> None:
    """`cpg plan --views DIR` over hostile files: exit 1 with the problems, no exception."""
    folder = workspace.root / "cli_views"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*.sql"):
        old.unlink()
    for name, text in zip(HOSTILE_NAMES, [statement, *texts], strict=False):
        (folder / f"{name}.sql").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cpg_main, ["plan", "--views", str(folder), "--format", fmt])
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert "cli_views/h0.sql" in result.output  # the statement's problem names its file
    if fmt == "json":
        assert '"valid": false' in result.stdout


def test_cpg_plan_subprocess_survives_what_used_to_kill_it(tmp_path: Path) -> None:
    """A real `cpg plan` process: the 30,000-term chain made DataFusion overflow its stack
    (SIGSEGV, exit -11) and deep parentheses raised RecursionError (a traceback, exit 1)."""
    import subprocess
    import sys

    views = {
        "chain": "SELECT " + " + ".join(["1"] * 30_000) + " AS x",
        "parens": "SELECT " + "(" * 3000 + "1" + ")" * 3000 + " AS x",
        "copy": "COPY (SELECT 1 AS x) TO 'copied.parquet'",
        "reader": "SELECT * FROM read_parquet('/etc/passwd')",
        "nul": "SELECT 1 AS x\x00",
        "open_quote": "SELECT 'never closed AS x",
        "fine": "SELECT 1 AS x",
    }
    (tmp_path / "views").mkdir()
    for name, sql in views.items():
        (tmp_path / "views" / f"{name}.sql").write_text(sql, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "cpg_core.cli", "plan", "--views", "views", "--no-cpg"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 1, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr
    for name in set(views) - {"fine"}:
        assert re.search(rf"views/{name}\.sql:\d+:\d+: {name}: \[", result.stdout), name
    assert "admitted: 1" in result.stdout
    assert not (tmp_path / "copied.parquet").exists()


# -- targeted: what the generator found, and the guarantees stated one by one ---------------


FOUND: list[tuple[str, str, int, int, str]] = [
    # Python recursion in sqlglot's parser: was a RecursionError out of compile_plan.
    ("SELECT " + "(" * 2000 + "1" + ")" * 2000 + " AS x", "syntax_error", 1, 1, "deeply"),
    (
        "SELECT * FROM " + "(SELECT * FROM " * 400 + "files" + ") AS t" * 400,
        "planning_error",
        1,
        len("SELECT * FROM " + "(SELECT * FROM " * 400) + 1,  # the innermost table
        "levels deep",
    ),
    # A 30,000-term chain: DataFusion overflowed its stack (SIGSEGV) planning it.
    ("SELECT " + " + ".join(["1"] * 30_000) + " AS x", "planning_error", 1, 1, "levels deep"),
    (" UNION ALL ".join(["SELECT 1 AS x"] * 1200), "planning_error", 1, 37, "levels deep"),
    # Unterminated tokens: had no position.
    ("SELECT\n  1 AS x,\n  'oops AS y", "syntax_error", 3, 3, "never closed"),
    ('SELECT "oops AS y', "syntax_error", 1, 8, "never closed"),
    ("SELECT 1 AS x /* no end", "syntax_error", 1, 15, "comment is never closed"),
    ("SELECT $$ AS x", "syntax_error", 1, 8, "never closed"),
    # DataFusion's own parser position is used ("at Line: 3, Column: 22").
    ("SELECT 1 AS x\nFROM files\nWHERE path = 'a' AND ! 1", "planning_error", 3, 22, "!"),
    ("SELECT 1 AS x\x00", "planning_error", 1, 14, "\\0"),
    # Table-valued things that are not tables (were ignored, or an AttributeError).
    ("SELECT * FROM ROWS FROM (generate_series(1, 2))", "forbidden_statement", 1, 1, "not a"),
    ("SELECT * FROM files, LATERAL read_csv('x.csv') AS t", "forbidden_statement", 1, 51, "CSV"),
    ("SELECT * FROM $1", "forbidden_statement", 1, 1, "not a table name"),
    ("SELECT * FROM ?", "forbidden_statement", 1, 1, "not a table name"),
    ("SELECT * FROM a.b.c.d", "forbidden_statement", 1, 17, "not a table name"),
    # A lone surrogate (only a view built in code): was a UnicodeEncodeError out of the compile.
    ("SELECT 1 AS x\n  -- \udc80", "syntax_error", 2, 6, "not valid Unicode"),
    # After a `$` that opens no dollar-quoted string, sqlglot's own line numbers are off by the
    # lines it looked ahead (was 5:4 here, outside the file): positions come from offsets.
    (" $1 -- c\n-- d\nWITH x AS (SELECT 1 AS y) SELECT * FROM x", "syntax_error", 3, 1, "WITH"),
    # Metadata problems point at the `@` (had no column).
    ("-- @keys: nope\nSELECT path FROM files", "invalid_metadata", 1, 4, "@keys"),
]
SOUND: list[str] = [
    "SELECT 1 AS x;; ",  # empty statements after the query: DataFusion accepts them too
    "SELECT * FROM generate_series(1, 3)",  # was rejected as a file-reading function
    "SELECT value * 2 AS v FROM generate_series(1, 3)",  # `value`: was an unknown column
    "SELECT * FROM range(4)",
    "SELECT * FROM unnest([1, 2]) AS t(x)",
    "SELECT " + " + ".join(["1"] * 900) + " AS x",  # long, but within the depth limit
    "SELECT path /* /* nested */ comment */ FROM files",
    "SELECT 'a\x00b' AS nul, '\U0001f600' AS \"\u00f1\" FROM files",
]


@pytest.fixture(scope="module")
def targeted(workspace: Workspace) -> ExecutionPlan:
    """One compile of every targeted case (a view each) next to the built-in CPG."""
    texts = {f"found_{i}": case[0] for i, case in enumerate(FOUND)}
    texts |= {f"sound_{i}": sql for i, sql in enumerate(SOUND)}
    plan, named = compile_hostile(workspace, texts)
    check_plan(workspace, plan, named)
    return plan


@pytest.mark.parametrize("case", range(len(FOUND)))
def test_found_by_the_generator(targeted: ExecutionPlan, case: int) -> None:
    _sql, code, line, col, words = FOUND[case]
    name = f"found_{case}"
    problems = [p for p in targeted.problems if p.view == name]
    assert name not in targeted.tasks or not targeted.tasks[name].admitted
    assert [(p.code.value, p.line, p.col) for p in problems] == [(code, line, col)], [
        p.format() for p in problems
    ]
    assert words in problems[0].message
    assert "\n" not in problems[0].format()


@pytest.mark.parametrize("case", range(len(SOUND)))
def test_sound_but_unusual_queries_are_admitted(targeted: ExecutionPlan, case: int) -> None:
    name = f"sound_{case}"
    assert [p.format() for p in targeted.problems if p.view == name] == []
    assert targeted.tasks[name].admitted


# -- views cannot read or write files --------------------------------------------------------


def _file_statements(secret: Path) -> list[str]:
    rel = secret.name
    return [
        f"COPY (SELECT 1 AS x) TO '{secret.parent / 'copied.parquet'}'",
        "COPY (SELECT 1 AS x) TO 'copied.csv' STORED AS CSV",
        f"COPY files TO '{secret.parent / 'copied.parquet'}'",
        f"CREATE EXTERNAL TABLE t STORED AS PARQUET LOCATION '{secret}'",
        "CREATE TABLE t AS SELECT 1 AS x",
        "CREATE VIEW v AS SELECT 1 AS x",
        "INSERT INTO files VALUES ('x')",
        "DROP TABLE files",
        "SET datafusion.execution.target_partitions = 1",
        "SELECT 1 AS x INTO copied",
        f"SELECT * FROM '{secret}'",
        f'SELECT * FROM "{secret}"',
        f"SELECT * FROM '{rel}'",
        f"SELECT * FROM '{secret.parent}'",
        f"SELECT * FROM 'file://{secret}'",
        f"SELECT * FROM read_parquet('{secret}')",
        f"SELECT * FROM read_csv('{rel}')",
        f"SELECT * FROM parquet_scan('{secret}')",
        f"SELECT * FROM files, LATERAL read_parquet('{secret}') AS t",
        f"SELECT (SELECT count(*) FROM read_parquet('{secret}')) AS n",
        f"SELECT read_parquet('{secret}') AS x",
        f"WITH t AS (SELECT * FROM '{secret}') SELECT * FROM t",
    ]


@pytest.fixture(scope="module")
def secret(workspace: Workspace) -> Path:
    """A Parquet file next to the project that no view may read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = workspace.root / "secret.parquet"
    pq.write_table(pa.table({"password": ["hunter2"]}), path)
    return path


def test_no_view_reads_or_writes_a_file(workspace: Workspace, secret: Path) -> None:
    catalogs = ["SELECT * FROM information_schema.tables", "SELECT * FROM datafusion.public.files"]
    statements = [*_file_statements(secret), *catalogs]
    plan, named = compile_hostile(workspace, {f"f{i}": sql for i, sql in enumerate(statements)})
    check_plan(workspace, plan, named)
    for name, sql in named.items():
        problems = [p for p in plan.problems if p.view == name]
        assert not plan.tasks[name].admitted, sql
        assert problems and all(p.line and p.col for p in problems), sql
        assert {p.code for p in problems} <= {
            ProblemCode.FORBIDDEN_STATEMENT,
            ProblemCode.UNKNOWN_TABLE,
            ProblemCode.PLANNING_ERROR,
        }, [p.format() for p in problems]
    assert not list(workspace.root.glob("copied*"))


def test_the_engine_refuses_them_too(workspace: Workspace, secret: Path) -> None:
    """Defence in depth: the read-only DataFusion setup every executor uses (`run_view`) refuses
    the same statements even if the compiler were bypassed, and writes nothing."""
    import pyarrow as pa
    from datafusion import SessionContext

    from cpg_core.execute.direct import run_view

    files = pa.table({"path": ["a.py"]})
    for sql in _file_statements(secret):
        with pytest.raises(Exception, match=r"(?i)not supported|not found|invalid function|error"):
            run_view(sql, {"files": files})
    assert not list(workspace.root.glob("copied*"))
    # The control: with URL tables on, DataFusion reads a path named in FROM. cpg never turns
    # it on — this is what the test above would catch.
    opened = SessionContext().enable_url_table().sql(f"SELECT * FROM '{secret}'").to_pylist()
    assert opened == [{"password": "hunter2"}]


# -- names: never a path, never a reserved name ----------------------------------------------

HOSTILE_NAMES_LIST = [
    "../x", "..", ".", "", "/etc/passwd", "/tmp/x", "a/b", "a\\b", "x\x00y", "x\n", "\n",
    "UPPER", "9lives", "a-b", "a.b", "a b", "\u00e9t\u00e9", "_cpg", "_cpg_events", "_events",
    "_x", "x" * 129, "class", "import", "execution_plan", "plan_signature", "task_schedule",
    "task_generations", "orders__task", "orders__fingerprint",
]  # fmt: skip
FILE_STEMS = [n for n in HOSTILE_NAMES_LIST if n and "/" not in n and "\x00" not in n]


def test_programmatic_view_names_are_rejected_at_compile_time(tmp_path: Path) -> None:
    project = Project.from_views([], store=tmp_path / "store", include_cpg=False)
    views = [ViewDef(name=name, sql="SELECT 1 AS x") for name in HOSTILE_NAMES_LIST]
    plan = compile_plan(project, views=[*views, ViewDef(name="ok", sql="SELECT 2 AS y")])
    assert sorted((p.code, p.view) for p in plan.problems) == sorted(
        (ProblemCode.INVALID_NAME, name) for name in HOSTILE_NAMES_LIST
    )
    for problem in plan.problems:
        name = problem.view
        assert repr(name) in problem.message or not name or len(name) > 128, problem.message
        assert "\n" not in problem.format()
        assert name not in plan.tasks and name not in plan.datasets  # never a table or a path
    assert list(plan.tasks) == ["ok"] and plan.tasks["ok"].admitted
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]


def test_view_file_names_are_rejected_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "views").mkdir()
    for index, name in enumerate(FILE_STEMS):  # each file in its own folder: stems may clash
        (tmp_path / "views" / str(index)).mkdir()
        (tmp_path / "views" / str(index) / f"{name}.sql").write_text("SELECT 1 AS x")
    (tmp_path / "views" / "ok.sql").write_text("SELECT 2 AS y", encoding="utf-8")
    (tmp_path / "cpg.toml").write_text('views = ["views"]\ninclude_cpg = false\n')
    result = CliRunner().invoke(cpg_main, ["plan", "--project", str(tmp_path / "cpg.toml")])
    assert isinstance(result.exception, SystemExit) and result.exit_code == 1, result.output
    plan = compile_plan(load_project(tmp_path / "cpg.toml"), cache=False)
    found = sorted((p.code, p.view, p.path) for p in plan.problems)
    assert found == sorted(
        (ProblemCode.INVALID_NAME, name, f"views/{index}/{name}.sql")
        for index, name in enumerate(FILE_STEMS)
    )
    for problem in plan.problems:
        assert problem.format() in result.output
    assert list(plan.tasks) == ["ok"] and plan.tasks["ok"].admitted


def test_a_view_file_that_is_a_fifo_is_a_problem_not_a_hang(tmp_path: Path) -> None:
    import threading

    (tmp_path / "views").mkdir()
    os.mkfifo(tmp_path / "views" / "pipe.sql")  # reading it would block until someone writes
    (tmp_path / "views" / "ok.sql").write_text("SELECT 1 AS x", encoding="utf-8")
    (tmp_path / "cpg.toml").write_text('views = ["views"]\ninclude_cpg = false\n')
    plans: list[ExecutionPlan] = []
    worker = threading.Thread(
        target=lambda: plans.append(compile_plan(load_project(tmp_path / "cpg.toml"))),
        daemon=True,
    )
    worker.start()
    worker.join(timeout=60)
    assert plans, "the compile blocked on the FIFO"
    assert [(p.code, p.view, p.path) for p in plans[0].problems] == [
        (ProblemCode.SOURCE_ERROR, "pipe", "views/pipe.sql")
    ]
    assert "not a regular file" in plans[0].problems[0].message
    assert plans[0].tasks["ok"].admitted


@pytest.mark.parametrize("name", ["a", "a1_", "stg_shop__orders", "x" * 128, "match", "type"])
def test_ordinary_names_are_accepted(tmp_path: Path, name: str) -> None:
    project = Project.from_views([], store=tmp_path / "store", include_cpg=False)
    plan = compile_plan(project, views=[ViewDef(name=name, sql="SELECT 1 AS x")], cache=False)
    assert plan.valid and plan.tasks[name].admitted


@pytest.mark.parametrize("name", ["../x", "Orders", "_cpg_events", "class", "a b"])
def test_source_names_are_checked_too(tmp_path: Path, name: str) -> None:
    from cpg_core.project import ProjectError, SourceSpec
    from tests.plan.projects import write_project

    toml = write_project(tmp_path, {})
    text = toml.read_text().replace("[sources.orders]", f"[sources.{json_key(name)}]")
    toml.write_text(text)
    with pytest.raises(ProjectError, match=re.escape(repr(name))) as raised:
        load_project(toml)
    assert str(toml) in str(raised.value)
    result = CliRunner().invoke(cpg_main, ["plan", "--project", str(toml)])
    assert result.exit_code == 2 and "invalid source name" in result.output  # usage error
    spec = SourceSpec(name=name, path=tmp_path / "data" / "orders.parquet", format="parquet")
    project = Project.from_views([], store=tmp_path / "store", include_cpg=False, sources=(spec,))
    plan = compile_plan(project, cache=False)
    assert [(p.code, p.view) for p in plan.problems] == [(ProblemCode.INVALID_NAME, name)]
    assert name not in plan.datasets


def json_key(name: str) -> str:
    """A TOML key for any string (a basic string is JSON-compatible for these names)."""
    import json

    return json.dumps(name)


@settings(max_examples=_examples(200), deadline=None)
@given(
    st.one_of(
        st.text(max_size=140),
        st.from_regex(r"[a-z_][a-z0-9_]{0,140}", fullmatch=True),
        st.sampled_from(HOSTILE_NAMES_LIST),
    )
)
def test_every_name_the_compiler_accepts_the_store_and_codegen_accept(name: str) -> None:
    """The compile-time rule is at least as strict as the store's and the generated module's:
    a name that passes compilation can never fail (or escape) later."""
    from cpg_core.execute.codegen import CodegenError, _check_name
    from cpg_core.store.delta_store import InvalidNameError, validate_name
    from cpg_core.views.names import name_error

    if name_error(name) is not None:
        return
    validate_name(name)
    _check_name(name, "view", set())
    assert Path(name).name == name and not Path(name).is_absolute()
    with pytest.raises((InvalidNameError, CodegenError)):  # sanity: the checks are real
        validate_name(name + "/..")


def test_reserved_names_match_the_generated_module() -> None:
    from cpg_core.execute.codegen import PLAN_INPUT, PLAN_NODES, fingerprint_input, task_input
    from cpg_core.views.names import RESERVED_NAMES, RESERVED_SUFFIXES, RUN_INPUT

    assert {*PLAN_NODES, PLAN_INPUT, RUN_INPUT} == RESERVED_NAMES
    assert {fingerprint_input("v")[1:], task_input("v")[1:]} == set(RESERVED_SUFFIXES)
