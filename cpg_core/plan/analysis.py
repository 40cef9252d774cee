"""Pass: analyze every view — parse it, find what it reads, qualify its columns, plan its output
schema in DataFusion over its inputs' schemas, check its declared keys and tests.

Views are analyzed depth-first from their dependencies, so each view is parsed once, only the
ASTs on the current dependency path are alive, and every view is planned over its upstreams'
*schemas* (never over nested views). Nothing executes. A large cold compile hands the work to
analysis workers (`analysis_pool`); a view's analysis depends only on its text and its inputs'
schemas, so where it ran changes nothing.
"""

from __future__ import annotations

import difflib
import gc
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import pyarrow as pa

from cpg_core.plan import analysis_pool
from cpg_core.plan.analysis_pool import Analysis, AnalysisPool
from cpg_core.plan.catalog import Dataset
from cpg_core.plan.compile_cache import CachedView, CompileCache, schema_from_bytes
from cpg_core.plan.data_tests import data_test_problems, reference_problems
from cpg_core.plan.hashing import hash_value, schema_hash, sha256_hex
from cpg_core.plan.singular_tests import table_refs
from cpg_core.plan.sql_parse import ParsedView, Position, parse_view, split_lines
from cpg_core.plan.view_analysis import analyze_view, front_entry
from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.model import ViewDef


@dataclass
class Analyzed:
    """One view's compile state: its analysis, its own problems, its output schema."""

    view: ViewDef
    entry: CachedView
    own_problems: list[Problem] = field(default_factory=list)
    output_schema: pa.Schema | None = None
    ok: bool = False


def analyze_views(
    views: Mapping[str, ViewDef],
    datasets: Mapping[str, Dataset],
    cache: CompileCache,
    invalid: frozenset[str],
) -> dict[str, Analyzed]:
    """Every view's analysis (from the cache where its text and inputs are unchanged), then the
    references of its declared tests, which need every view's schema."""
    misses = sum(1 for v in views.values() if not cache.has(_view_key(v)))
    with _analysis_pool(misses) as pool:
        analyzer = _Analyzer(views, datasets, cache, set(invalid), pool)
        analyzer.run()
    _check_test_references(views, datasets, analyzer.results)
    return analyzer.results


@contextmanager
def _analysis_pool(misses: int) -> Iterator[AnalysisPool | None]:
    """Workers for a large cold compile; small or cached ones analyze in this process."""
    if misses < analysis_pool.POOL_MIN_VIEWS:
        yield None
        return
    with AnalysisPool(analysis_pool.worker_count()) as pool:
        yield pool


def _declared_key_problems(view: ViewDef, schema: pa.Schema) -> list[Problem]:
    """Declared keys (and semantic entity/join keys) must be output columns of the view."""
    declared = {"keys": view.keys}
    if view.semantic is not None:
        declared |= {"entity_keys": view.semantic.entity_keys, "join_keys": view.semantic.join_keys}
    problems = []
    for label, columns in declared.items():
        missing = [c for c in columns if c not in schema.names]
        if missing:
            at = _metadata_position(view.sql, label)
            problems.append(
                Problem(
                    code=ProblemCode.INVALID_METADATA,
                    view=view.name,
                    path=view.path,
                    line=at.line if at else None,
                    col=at.col if at else None,
                    message=f"@{label} names column(s) the view does not output: {', '.join(missing)}",
                    hint="output columns: " + ", ".join(schema.names),
                )
            )
    return problems


def _metadata_position(text: str, key: str) -> Position | None:
    """Where `-- @key` is declared (its `@`)."""
    for lineno, line in enumerate(split_lines(text), start=1):
        if line.lstrip().startswith("--") and f"@{key}" in line:
            return Position(line=lineno, col=line.index(f"@{key}") + 1)
    return None


def _view_key(view: ViewDef) -> str:
    """Compile-cache key of a view's text (its analysis also depends on upstream schemas)."""
    return sha256_hex(f"{view.name}\0{view.path or ''}\0{view.sql}")


_GC_EVERY = 64  # views analyzed between collections of their AST garbage (cycles)


class _Analyzer:
    """The analysis of one compile: holds the views, datasets, cache and per-view results.

    Pass 1 (parse, find what a view reads) runs for every view; passes 2 and 3 (columns,
    lineage, output schema) for a view once every view it reads is through them. Without a
    pool this process walks the views depth-first, so only the ASTs on the current path are
    alive; with one, workers do both and this process only keeps the order. A view's analysis
    depends only on its text and its inputs' schemas, so where it runs changes nothing.
    """

    def __init__(
        self,
        views: Mapping[str, ViewDef],
        datasets: Mapping[str, Dataset],
        cache: CompileCache,
        invalid: set[str],
        pool: AnalysisPool | None,
    ) -> None:
        self.pool = pool
        self.views = views
        self.datasets = datasets
        self.cache = cache
        self.invalid = invalid
        self.results: dict[str, Analyzed] = {}
        self.known = sorted(set(views) | set(datasets))
        self._schema_hashes: dict[str, str] = {}
        self._pending_asts: dict[str, ParsedView] = {}  # pass 1's ASTs until their analysis
        self._since_gc = 0
        self._done: set[str] = set()
        self._waiting: dict[str, set[str]] = {}  # view -> upstream views not done yet
        self._dependents: dict[str, list[str]] = {}
        self._ready: deque[str] = deque()  # every upstream done: start it

    # -- pass 1: parse (or cache) -----------------------------------------------------------

    def _key(self, view: ViewDef) -> str:
        return _view_key(view)

    def _parse_front(self, name: str) -> Analyzed:
        """Pass 1 in this process (from the cache when the text is unchanged)."""
        view = self.views[name]
        entry = self.cache.get(self._key(view))
        if entry is None:
            parsed = parse_view(view)
            entry = front_entry(parsed)
            self._pending_asts[name] = parsed
            self.cache.put(self._key(view), entry)
        return self._front(name, entry)

    def _front(self, name: str, entry: CachedView) -> Analyzed:
        """A view's pass-1 result, with its unknown tables as problems."""
        view = self.views[name]
        analyzed = Analyzed(view=view, entry=entry)
        analyzed.own_problems += entry.parse_problems
        for table in entry.tables:
            if table not in self.views and table not in self.datasets:
                near = difflib.get_close_matches(table, self.known, n=1, cutoff=0.6)
                hint = f"did you mean {near[0]!r}?" if near else None
                if table in entry.cte_named_tables:
                    hint = f"the CTE {table!r} reads itself: write WITH RECURSIVE"
                line_col = entry.table_positions.get(table)
                analyzed.own_problems.append(
                    Problem(
                        code=ProblemCode.UNKNOWN_TABLE,
                        view=name,
                        path=view.path,
                        line=line_col[0] if line_col else None,
                        col=line_col[1] if line_col else None,
                        message=f"unknown table {table!r}",
                        hint=hint,
                        table=table,
                    )
                )
        return analyzed

    # -- pass 2 and 3: columns (sqlglot) and output schema (DataFusion) ---------------------

    def _post(self, name: str, analyzed: Analyzed) -> None:
        """Pass 1 is done for the view: analyze it once everything it reads is."""
        self.results[name] = analyzed
        pending = {t for t in analyzed.entry.tables if t in self.views and t not in self._done}
        if not pending:
            self._ready.append(name)
            return
        self._waiting[name] = pending  # a view on a cycle waits for good: never analyzed
        for table in pending:
            self._dependents.setdefault(table, []).append(name)

    def _start(self, name: str) -> None:
        """Analyze a ready view: from the cache, here, or by a worker."""
        analyzed = self.results[name]
        parsed = self._pending_asts.pop(name, None)
        if analyzed.own_problems or name in self.invalid:
            self._finish(name)
            return
        if any(t in self.views and not self._ok(t) for t in analyzed.entry.tables):
            self._finish(name)  # reported as upstream_invalid once cycles are known
            return
        upstream_hash, inputs = self._inputs(name)
        if analyzed.entry.upstream_hash == upstream_hash:
            self._accept(name, analyzed.entry)
        elif self.pool is not None and self.pool.alive:
            request = Analysis(analyzed.view, analyzed.entry, upstream_hash, tuple(inputs))
            self.pool.analyze(request, inputs)
        else:
            self._analyze_here(name, upstream_hash, inputs, parsed)

    def _inputs(self, name: str) -> tuple[str, dict[str, pa.Schema]]:
        """The schemas a view reads, and their hash (the cache entry's upstream key)."""
        inputs: dict[str, pa.Schema] = {}
        for table in self.results[name].entry.tables:
            schema = self._schema_of(table)
            if schema is not None:
                inputs[table] = schema
        return hash_value(sorted((t, self._schema_hash(t, s)) for t, s in inputs.items())), inputs

    def _analyze_here(
        self,
        name: str,
        upstream_hash: str,
        inputs: Mapping[str, pa.Schema],
        parsed: ParsedView | None = None,
    ) -> None:
        parsed = parsed or parse_view(self.views[name])  # cached pass 1 or a worker gave up
        entry = analyze_view(parsed, inputs, self.results[name].entry, upstream_hash)
        del parsed
        self._since_gc += 1
        if self._since_gc >= _GC_EVERY:
            gc.collect(1)
            self._since_gc = 0
        self._accept(name, entry, fresh=True)

    def _accept(self, name: str, entry: CachedView, *, fresh: bool = False) -> None:
        """The view's analysis is known (cached or just made)."""
        analyzed = self.results[name]
        view = analyzed.view
        if fresh:
            self.cache.put(self._key(view), entry)
        analyzed.entry = entry
        analyzed.own_problems += entry.problems
        if entry.output_schema is not None and not entry.problems:
            schema = schema_from_bytes(entry.output_schema)
            analyzed.own_problems += _declared_key_problems(view, schema)
            analyzed.own_problems += data_test_problems(view, schema)
            analyzed.output_schema = schema
            analyzed.ok = not analyzed.own_problems
        self._finish(name)

    def _finish(self, name: str) -> None:
        self._done.add(name)
        for reader in self._dependents.pop(name, ()):
            pending = self._waiting[reader]
            pending.discard(name)
            if not pending:
                del self._waiting[reader]
                self._ready.append(reader)

    def _start_ready(self) -> None:
        while self._ready:
            self._start(self._ready.popleft())

    def _schema_hash(self, table: str, schema: pa.Schema) -> str:
        known = self._schema_hashes.get(table)
        if known is None:
            known = self._schema_hashes[table] = schema_hash(schema)
        return known

    def _ok(self, name: str) -> bool:
        result = self.results.get(name)
        return result is not None and result.ok

    def _schema_of(self, table: str) -> pa.Schema | None:
        if table in self.views:
            result = self.results.get(table)
            return result.output_schema if result else None
        dataset = self.datasets.get(table)
        return dataset.schema if dataset else None

    # -- drivers --------------------------------------------------------------------------------

    def run(self) -> None:
        if self.pool is None:
            self._run_depth_first()
        else:
            self._run_pooled(self.pool)

    def _run_depth_first(self) -> None:
        state: dict[str, int] = {}  # 1 = in progress, 2 = done
        fronts: dict[str, Analyzed] = {}
        for root in sorted(self.views):
            stack = [root]
            while stack:
                name = stack[-1]
                status = state.get(name, 0)
                if status == 2:
                    stack.pop()
                elif status == 0:
                    state[name] = 1
                    fronts[name] = self._parse_front(name)
                    deps = [t for t in fronts[name].entry.tables if t in self.views]
                    stack.extend(t for t in sorted(deps, reverse=True) if state.get(t, 0) == 0)
                else:
                    self._post(name, fronts.pop(name))
                    self._start_ready()
                    state[name] = 2
                    stack.pop()

    def _run_pooled(self, pool: AnalysisPool) -> None:
        """Workers parse every uncached view, then analyze each as soon as its inputs are."""
        for name in sorted(self.views):
            entry = self.cache.get(self._key(self.views[name]))
            if entry is None:
                pool.front(self.views[name])
            else:
                self._post(name, self._front(name, entry))
        self._start_ready()
        while pool.busy:
            for kind, name, entry in pool.collect(block=True):
                if kind == "front":
                    if entry is None:  # its worker died or failed: parse it here
                        self._post(name, self._parse_front(name))
                        continue
                    self.cache.put(self._key(self.views[name]), entry)
                    self._post(name, self._front(name, entry))
                elif entry is None:
                    self._analyze_here(name, *self._inputs(name))
                else:
                    self._accept(name, entry, fresh=True)
            self._start_ready()


def _check_test_references(
    views: Mapping[str, ViewDef], datasets: Mapping[str, Dataset], results: dict[str, Analyzed]
) -> None:
    """Relationships tests name another table: checked once every view's schema is known (a
    broken reference is a problem of the view that declares it, like an unknown column)."""
    schemas = {n: r.output_schema for n, r in results.items() if r.ok}
    tables = table_refs(views, schemas, {n: d.schema for n, d in datasets.items()})
    for result in results.values():
        if result.output_schema is not None:
            found = reference_problems(result.view, result.output_schema, tables)
            result.own_problems += found
            result.ok = result.ok and not found
