"""Compile a project's views into one immutable ExecutionPlan: a list of passes over plain data.

`load` is the edge (every file read once); then, like sqlglot's optimizer rules, one pass per
module, each taking what the previous ones produced:

    name_views        which views become tasks                          plan/naming.py
    analyze_views     parse, columns, output schema, keys and tests     plan/analysis.py
    admit             cycles, admission, upstream_invalid               plan/admission.py
    fold_fingerprints inline views folded into their readers            plan/inline.py
    estimate_costs    measured, estimated or default seconds            plan/costs.py
    compute_schedule  generations, levels, slack, critical path, order  plan/schedule.py
    singular tests    `tests/*.sql` compiled against the admitted views plan/singular_tests.py
    assemble_plan     tasks, datasets, graph, signature                 plan/assembly.py

Nothing executes. Every problem is collected; invalid views and their downstream are not
admitted, the rest of the plan stays valid.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

from cpg_core.gc_pause import frozen_gc
from cpg_core.plan.admission import Admission, admit
from cpg_core.plan.analysis import Analyzed, analyze_views
from cpg_core.plan.assembly import assemble_plan
from cpg_core.plan.catalog import Dataset
from cpg_core.plan.costs import estimate_costs
from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_core.plan.inline import fold_fingerprints
from cpg_core.plan.loading import Loaded, load
from cpg_core.plan.naming import Named, name_views
from cpg_core.plan.schedule import compute_schedule
from cpg_core.plan.singular_tests import compile_singular_tests, table_refs
from cpg_core.problems import Problem, sort_key
from cpg_core.project import Project
from cpg_core.views.model import ViewDef


class CompileError(Exception):
    """Raised by a strict compile; carries every problem found."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(p.format() for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the views:\n{lines}")


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
    with frozen_gc():  # sqlglot ASTs are full of cycles: collect young garbage in batches
        loaded = load(project, views, cache=cache, history=history)
        plan = compile_loaded(loaded)
    loaded.cache.save()
    if strict and plan.problems:
        raise CompileError(plan.problems)
    return plan


def compile_loaded(loaded: Loaded) -> ExecutionPlan:
    """The passes, in order (see the module docstring)."""
    named = name_views(loaded.views, loaded.datasets, loaded.problems)
    results = analyze_views(named.views, loaded.datasets, loaded.cache, named.invalid)
    admission = admit(named.views, results, named.invalid)
    fingerprints = fold_fingerprints(
        admission.order, {n: results[n].entry for n in admission.order}, named.views
    )
    costs, _sizes = estimate_costs(
        admission.order,
        {n: results[n].entry.tables for n in admission.order},
        fingerprints,
        {n: d.bytes for n, d in loaded.datasets.items()},
        loaded.history,
    )
    admitted = admission.admitted
    schedule = compute_schedule(
        admission.order,
        [(u, v) for u, v in admission.edges if u in admitted and v in admitted],
        {n: c.seconds for n, c in costs.items()},
    )
    readable = {n: results[n].output_schema for n in admission.order}  # what a test can read
    singular, test_problems = compile_singular_tests(
        loaded.singular_tests,
        table_refs(named.views, readable, {n: d.schema for n, d in loaded.datasets.items()}),
    )
    problems = sorted(
        [*loaded.problems, *named.problems, *admission.problems, *test_problems], key=sort_key
    )
    return assemble_plan(
        loaded.project,
        tasks=_tasks(named, loaded.datasets, results, admission, fingerprints, problems),
        datasets=_datasets(loaded.datasets, results),
        problems=tuple(problems),
        costs=costs,
        schedule=schedule,
        cache_note=loaded.cache.rejected,
        singular_tests=singular,
    )


def _datasets(inputs: Mapping[str, Dataset], results: Mapping[str, Analyzed]) -> dict[str, Dataset]:
    """Input datasets, and every view's output (its schema None when it could not be planned)."""
    out = dict(inputs)
    for name in sorted(results):
        out[name] = Dataset(name, "view", results[name].output_schema)
    return out


def _tasks(
    named: Named,
    datasets: Mapping[str, Dataset],
    results: Mapping[str, Analyzed],
    admission: Admission,
    fingerprints: Mapping[str, str],
    problems: Sequence[Problem],
) -> dict[str, Task]:
    admitted = admission.admitted
    by_view: dict[str, list[Problem]] = {}
    for problem in problems:
        by_view.setdefault(problem.view, []).append(problem)
    tasks: dict[str, Task] = {}
    for name in sorted(results):
        result = results[name]
        tasks[name] = Task(
            name=name,
            view=result.view,
            inputs=tuple(t for t in result.entry.tables if t in named.views or t in datasets),
            required_columns=MappingProxyType(dict(result.entry.required)),
            output_schema=result.output_schema,
            fingerprint=fingerprints.get(name, ""),
            lineage=MappingProxyType(dict(result.entry.lineage)),
            admitted=name in admitted,
            problems=tuple(by_view.get(name, ())),
        )
    return tasks
