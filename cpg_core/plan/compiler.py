"""Compile a project's views into one immutable ExecutionPlan.

Views are analyzed depth-first from their dependencies, so each view is parsed once, only the
ASTs on the current dependency path are alive, and every view is planned over its upstreams'
*schemas* (never over nested views). Nothing executes. Every problem is collected; invalid views
and their downstream are not admitted, the rest of the plan stays valid.
"""

from __future__ import annotations

import difflib
import gc
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import MappingProxyType

import msgspec
import pyarrow as pa
import rustworkx as rx

from cpg_core.plan import analysis_pool
from cpg_core.plan.analysis_pool import Analysis, AnalysisPool
from cpg_core.plan.catalog import Dataset, SourceError, read_source
from cpg_core.plan.compile_cache import CachedView, CompileCache, schema_from_bytes
from cpg_core.plan.costs import estimate_costs
from cpg_core.plan.data_tests import data_test_problems, reference_problems
from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_core.plan.fingerprints import plan_signature
from cpg_core.plan.hashing import schema_hash, sha256_hex, upstream_key
from cpg_core.plan.inline import fold_fingerprint
from cpg_core.plan.positions import with_positions
from cpg_core.plan.schedule import compute_schedule
from cpg_core.plan.singular_tests import compile_singular_tests, table_refs
from cpg_core.plan.sql_parse import (
    ParsedView,
    Position,
    offset_position,
    parse_view,
    split_lines,
)
from cpg_core.plan.view_analysis import analyze_view, front_entry, resolve_front
from cpg_core.problems import Problem, ProblemCode, sort_key
from cpg_core.project import Project
from cpg_core.store.history import load_durations
from cpg_core.views.loader import (
    builtin_views_dir,
    check_names,
    load_view_dirs,
    name_problem,
    package_root,
)
from cpg_core.views.model import ViewDef
from cpg_core.views.names import name_error


class CompileError(Exception):
    """Raised by a strict compile; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(p.format() for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the views:\n{lines}")


@dataclass
class _Analyzed:
    """Per-view compile state while the DFS runs."""

    view: ViewDef
    entry: CachedView
    own_problems: list[Problem] = field(default_factory=list)
    output_schema: pa.Schema | None = None
    ok: bool = False


@contextmanager
def _quiet_gc() -> Iterator[None]:
    """sqlglot ASTs are full of reference cycles: collecting them per allocation threshold
    dominates compile time. Freeze what exists, collect young garbage in batches instead."""
    was_enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


@contextmanager
def _analysis_pool(misses: int) -> Iterator[AnalysisPool | None]:
    """Workers for a large cold compile; small or cached ones analyze in this process."""
    if misses < analysis_pool.POOL_MIN_VIEWS:
        yield None
        return
    with AnalysisPool(analysis_pool.worker_count()) as pool:
        yield pool


def _evidence_datasets() -> dict[str, Dataset]:
    from cpg_core.extract.schema import EVIDENCE_SCHEMAS

    return {name: Dataset(name, "evidence", schema) for name, schema in EVIDENCE_SCHEMAS.items()}


def _input_datasets(project: Project, problems: list[Problem]) -> dict[str, Dataset]:
    datasets = _evidence_datasets() if project.include_cpg else {}
    for spec in project.sources:
        invalid_name = name_problem(
            spec.name, project.config_path.name if project.config_path else None, what="source"
        )
        if invalid_name is not None:
            problems.append(invalid_name)
            continue
        try:
            datasets[spec.name] = read_source(spec)
        except SourceError as error:
            problems.append(
                Problem(
                    code=ProblemCode.SOURCE_ERROR,
                    view=spec.name,
                    path=project.config_path.name if project.config_path else None,
                    message=str(error),
                )
            )
    return datasets


def _collect_views(
    project: Project, extra: Sequence[ViewDef], problems: list[Problem]
) -> list[ViewDef]:
    views: list[ViewDef] = []
    if project.include_cpg:
        builtin = load_view_dirs([builtin_views_dir()], root=package_root(), builtin=True)
        views += builtin.views
        problems += builtin.problems
    loaded = load_view_dirs(project.view_dirs, root=project.root)
    views += loaded.views
    problems += loaded.problems
    views += extra
    return views


def _text_problems(views: Sequence[ViewDef]) -> list[Problem]:
    """A view built in code can hold text no file can: a lone surrogate is no Unicode, cannot be
    hashed, stored or shown, so the view is rejected before anything encodes it."""
    problems = []
    for view in views:
        try:
            view.sql.encode("utf-8")
            msgspec.json.encode(view)  # every other field (path, description, keys...)
        except UnicodeEncodeError as error:
            in_sql = error.object == view.sql
            pos = offset_position(view.sql, error.start) if in_sql else None
            path = view.path.encode("utf-8", "replace").decode("utf-8") if view.path else None
            problems.append(
                Problem(
                    code=ProblemCode.SYNTAX_ERROR,
                    view=view.name,
                    path=path,
                    line=pos.line if pos else None,
                    col=pos.col if pos else None,
                    message=f"the view's {'SQL' if in_sql else 'metadata or path'} is not "
                    "valid Unicode (it holds a lone surrogate)",
                )
            )
    return problems


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


class _Compiler:
    """One compile: holds the views, datasets, cache and per-view results.

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
        self.results: dict[str, _Analyzed] = {}
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

    def _parse_front(self, name: str) -> _Analyzed:
        """Pass 1 in this process (from the cache when the text is unchanged)."""
        view = self.views[name]
        entry = self.cache.get(self._key(view))
        if entry is None:
            parsed = parse_view(view)
            entry = front_entry(parsed)
            self._pending_asts[name] = parsed
            self.cache.put(self._key(view), entry)
        return self._front(name, entry)

    def _front(self, name: str, entry: CachedView) -> _Analyzed:
        """A view's pass-1 result, with its unknown tables as problems."""
        view = self.views[name]
        entry = resolve_front(entry, self.views, self.datasets)
        analyzed = _Analyzed(view=view, entry=entry)
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

    def _post(self, name: str, analyzed: _Analyzed) -> None:
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
        return upstream_key({t: self._schema_hash(t, s) for t, s in inputs.items()}), inputs

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
        fronts: dict[str, _Analyzed] = {}
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


def _cycle_problems(
    views: Mapping[str, ViewDef], edges: list[tuple[str, str]], results: Mapping[str, _Analyzed]
) -> tuple[list[Problem], set[str]]:
    """One problem per view on a cycle, each naming the whole cycle view by view."""
    graph: rx.PyDiGraph = rx.PyDiGraph()
    names = sorted(views)
    index = {n: graph.add_node(n) for n in names}
    graph.add_edges_from_no_data([(index[u], index[v]) for u, v in edges])
    problems: list[Problem] = []
    on_cycle: set[str] = set()
    components = [sorted(graph[i] for i in c) for c in rx.strongly_connected_components(graph)]
    for component in sorted(components):
        start = component[0]
        if len(component) == 1 and not graph.has_edge(index[start], index[start]):
            continue
        cycle_edges = rx.digraph_find_cycle(graph, source=index[start])
        # Edges run upstream → reader; report the cycle in reading order from its first name.
        flow = [graph[u] for u, _ in cycle_edges] or [start]
        reading = flow[::-1]
        first = reading.index(min(reading))
        cycle = reading[first:] + reading[:first]
        text = " -> ".join([*cycle, cycle[0]])
        following = dict(zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        for member in component:
            on_cycle.add(member)
            view = views[member]
            positions = results[member].entry.table_positions
            at = positions.get(following.get(member, ""))
            problems.append(
                Problem(
                    code=ProblemCode.CYCLE,
                    view=member,
                    path=view.path,
                    line=at[0] if at else None,
                    col=at[1] if at else None,
                    message=f"dependency cycle: {text}",
                    hint="each view reads the next; a view cannot read itself through others",
                )
            )
    return problems, on_cycle


def compile_plan(
    project: Project,
    *,
    views: Sequence[ViewDef] = (),
    cache: bool = True,
    strict: bool = False,
    history: Mapping[str, float] | None = None,
) -> ExecutionPlan:
    """Compile `project` (plus programmatic `views`) into an ExecutionPlan.

    `cache` uses the persistent compile cache in the store; `strict` raises CompileError when
    any problem is found; `history` overrides measured durations (default: read from the store).
    """
    with _quiet_gc():
        return _compile(project, views, cache=cache, strict=strict, history=history)


def _compile(
    project: Project,
    extra: Sequence[ViewDef],
    *,
    cache: bool,
    strict: bool,
    history: Mapping[str, float] | None,
) -> ExecutionPlan:
    problems: list[Problem] = []
    datasets = _input_datasets(project, problems)
    all_views = _collect_views(project, extra, problems)
    problems += check_names(all_views, datasets)
    unreadable = _text_problems(all_views)
    problems += unreadable
    views: dict[str, ViewDef] = {}
    for view in all_views:  # a name that cannot be a table never becomes a task (nor a path)
        if (
            view.name not in views
            and view.name not in datasets
            and name_error(view.name) is None
            and not any(p.view == view.name for p in unreadable)
        ):
            views[view.name] = view
    invalid = {p.view for p in problems if p.view in views}

    compile_cache = CompileCache(project.compile_cache_path if cache else None)
    misses = sum(1 for v in views.values() if not compile_cache.has(_view_key(v)))
    with _analysis_pool(misses) as pool:
        compiler = _Compiler(views, datasets, compile_cache, invalid, pool)
        compiler.run()
    compile_cache.save()
    results = compiler.results
    _check_test_references(views, datasets, results)

    # Graph-level facts: view → view edges, cycles, admission.
    edges = sorted((t, name) for name, r in results.items() for t in r.entry.tables if t in views)
    cycle_problems, on_cycle = _cycle_problems(views, edges, results)
    admitted: set[str] = set()
    topological = _topological(views, edges, on_cycle)
    for name in topological:
        result = results[name]
        ups = [t for t in result.entry.tables if t in views]
        if (
            result.ok
            and name not in invalid
            and name not in on_cycle
            and all(u in admitted for u in ups)
        ):
            admitted.add(name)
    for name, result in results.items():
        problems += result.own_problems
        if name in admitted or result.own_problems or name in on_cycle or name in invalid:
            continue
        bad = sorted(u for u in result.entry.tables if u in views and u not in admitted)
        problems.append(
            Problem(
                code=ProblemCode.UPSTREAM_INVALID,
                view=name,
                path=result.view.path,
                message="not admitted: upstream view(s) " + ", ".join(bad) + " are invalid",
                table=bad[0] if bad else None,
            )
        )
    problems += cycle_problems
    problems = with_positions(problems, all_views, project.config_path)

    # Fingerprints (inline views fold their fingerprint into their readers), datasets, tasks.
    fingerprints: dict[str, str] = {}
    admitted_order = [n for n in topological if n in admitted]
    for name in admitted_order:
        entry = results[name].entry
        fingerprints[name] = fold_fingerprint(
            entry.sql_hash,
            entry.tables,
            lambda t: t in views and views[t].materialize == "inline",
            fingerprints,
        )
    all_datasets: dict[str, Dataset] = dict(datasets)
    for name in sorted(results):
        all_datasets[name] = Dataset(name, "view", results[name].output_schema)
    durations = load_durations(project.store) if history is None else history
    input_bytes = {n: d.bytes for n, d in datasets.items()}
    task_inputs = {n: results[n].entry.tables for n in admitted_order}
    costs, _sizes = estimate_costs(
        admitted_order, task_inputs, fingerprints, input_bytes, durations
    )
    admitted_edges = [(u, v) for u, v in edges if u in admitted and v in admitted]
    schedule = compute_schedule(
        admitted_order, admitted_edges, {n: c.seconds for n, c in costs.items()}
    )

    tasks: dict[str, Task] = {}
    for name in sorted(results):
        result = results[name]
        tasks[name] = Task(
            name=name,
            view=result.view,
            inputs=tuple(t for t in result.entry.tables if t in views or t in datasets),
            required_columns=MappingProxyType(dict(result.entry.required)),
            output_schema=result.output_schema,
            fingerprint=fingerprints.get(name, ""),
            lineage=MappingProxyType(dict(result.entry.lineage)),
            lineage_unknown=result.entry.lineage_unknown,
            admitted=name in admitted,
            problems=tuple(sorted((p for p in problems if p.view == name), key=sort_key)),
        )
    graph, node_index = build_task_graph(tasks, all_datasets)
    signature = signature_of(tasks, all_datasets, set(admitted))
    readable = {n: results[n].output_schema for n in admitted}  # what a test can read
    singular_tests, test_problems = compile_singular_tests(
        project, table_refs(views, readable, {n: d.schema for n, d in datasets.items()})
    )
    problems += test_problems
    problems.sort(key=sort_key)
    if strict and problems:
        raise CompileError(problems)
    return ExecutionPlan(
        project=project,
        tasks=MappingProxyType(tasks),
        datasets=MappingProxyType(all_datasets),
        problems=tuple(problems),
        costs=MappingProxyType(costs),
        schedule=schedule,
        signature=signature,
        graph=graph,
        node_index=MappingProxyType(node_index),
        cache_note=compile_cache.rejected,
        singular_tests=singular_tests,
    )


def _check_test_references(
    views: Mapping[str, ViewDef], datasets: Mapping[str, Dataset], results: dict[str, _Analyzed]
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


def _topological(
    views: Mapping[str, ViewDef], edges: list[tuple[str, str]], skip: set[str]
) -> list[str]:
    """Views in a deterministic topological order (views on cycles are left out)."""
    graph: rx.PyDiGraph = rx.PyDiGraph()
    names = sorted(n for n in views if n not in skip)
    index = {n: graph.add_node(n) for n in names}
    graph.add_edges_from_no_data(
        [(index[u], index[v]) for u, v in edges if u in index and v in index]
    )
    return list(rx.lexicographical_topological_sort(graph, key=lambda n: n))


def build_task_graph(
    tasks: Mapping[str, Task], datasets: Mapping[str, Dataset]
) -> tuple[rx.PyDiGraph, dict[tuple[str, str], int]]:
    """The bipartite graph: dataset nodes and task nodes; dataset→task edges carry columns."""
    graph: rx.PyDiGraph = rx.PyDiGraph()
    index: dict[tuple[str, str], int] = {}
    for name in sorted(datasets):
        index[("dataset", name)] = graph.add_node(
            {"kind": "dataset", "name": name, "dataset_kind": datasets[name].kind}
        )
    for name in sorted(tasks):
        index[("task", name)] = graph.add_node(
            {"kind": "task", "name": name, "admitted": tasks[name].admitted}
        )
    for name in sorted(tasks):
        task = tasks[name]
        for table in task.inputs:
            columns = tuple(task.required_columns.get(table, ()))
            graph.add_edge(index[("dataset", table)], index[("task", name)], {"columns": columns})
        graph.add_edge(index[("task", name)], index[("dataset", name)], {"columns": ()})
    return graph, index


def signature_of(
    tasks: Mapping[str, Task], datasets: Mapping[str, Dataset], active: set[str]
) -> str:
    """Plan signature of the sub-plan made of the `active` tasks."""
    task_fps = {n: tasks[n].fingerprint for n in active}
    inputs = {table for n in active for table in tasks[n].inputs if table not in active}
    dataset_hashes = {
        t: schema_hash(s) if (s := datasets[t].schema) is not None else "" for t in inputs
    }
    edges = [
        (table, n, tuple(tasks[n].required_columns.get(table, ())))
        for n in active
        for table in tasks[n].inputs
    ]
    return plan_signature(task_fps, dataset_hashes, edges)
