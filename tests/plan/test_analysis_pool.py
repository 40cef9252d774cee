"""Analysis workers give exactly the in-process results, and a dead or failing worker is harmless."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.plan import analysis as analysis_module
from cpg_core.plan import analysis_pool, compile_plan
from cpg_core.plan.analysis_pool import AnalysisPool
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import load_project
from tests.plan.projects import write_project

_VIEWS = {
    "a": "select order_id, amount, status from orders",
    "b": "select order_id, amount * 2 as twice from a",
    "c": "select amount + status as bad from a",  # DataFusion type error
    "d": "select twice, row_number() over (order by twice) as rn from b",
    "e": "select nope from b",  # sqlglot error
    "f": "with t as (select b.twice, d.rn from b join d on b.twice = d.twice) select * from t",
    "g": "select * from c",  # downstream of an invalid view
    "h": "select * from i",  # a cycle
    "i": "select * from h",
}


def _facts(plan: ExecutionPlan) -> tuple[object, ...]:
    return (
        plan.signature,
        plan.problems,
        {n: t.output_schema for n, t in plan.tasks.items()},
        {
            n: (t.fingerprint, dict(t.lineage), dict(t.required_columns))
            for n, t in plan.tasks.items()
        },
        plan.schedule,
    )


class _Booted(AnalysisPool):
    """Waits for its workers so a small compile really analyzes there."""

    pools: ClassVar[list[AnalysisPool]] = []

    def __init__(self, workers: int) -> None:
        super().__init__(workers)
        assert self.wait_until_ready()
        _Booted.pools.append(self)


def _force_pool(monkeypatch: pytest.MonkeyPatch) -> type[_Booted]:
    """From now on every compile analyzes in (booted) workers."""
    monkeypatch.setattr(analysis_pool, "POOL_MIN_VIEWS", 0)
    monkeypatch.setattr(analysis_module, "AnalysisPool", _Booted)
    _Booted.pools = []
    return _Booted


def test_worker_and_in_process_compiles_are_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(write_project(tmp_path, _VIEWS))
    inline = compile_plan(project, cache=False)
    forced_pool = _force_pool(monkeypatch)
    worker = compile_plan(project, cache=False)
    assert len(forced_pool.pools) == 1
    assert _facts(worker) == _facts(inline)
    codes = sorted({p.code.value for p in worker.problems})
    assert codes == ["cycle", "type_mismatch", "unknown_column", "upstream_invalid"]
    assert worker.tasks["f"].admitted
    # The cache written by the workers' compile serves a warm compile with the same plan.
    cold = compile_plan(project)
    warm = compile_plan(project)
    assert _facts(cold) == _facts(warm) == _facts(inline)


def test_a_dead_worker_hands_its_views_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(write_project(tmp_path, _VIEWS))
    reference = compile_plan(project, cache=False)
    _force_pool(monkeypatch)
    send = AnalysisPool._send
    killed: list[int] = []

    def send_then_kill(self: AnalysisPool, worker: analysis_pool._Worker, *args: Any) -> None:
        send(self, worker, *args)
        if args[0] == "analysis" and not killed:  # the first to get an analysis dies with it
            os.kill(worker.process.pid, signal.SIGKILL)
            killed.append(worker.process.pid)

    monkeypatch.setattr(AnalysisPool, "_send", send_then_kill)
    assert _facts(compile_plan(project, cache=False)) == _facts(reference)
    assert killed


def test_a_failing_worker_hands_its_views_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply the compiler cannot use (here: every reply says the analysis raised) is redone
    in-process, with the same plan."""
    project = load_project(write_project(tmp_path, _VIEWS))
    reference = compile_plan(project, cache=False)
    _force_pool(monkeypatch)
    original = AnalysisPool._receive

    def failing(self: AnalysisPool, worker: analysis_pool._Worker) -> None:
        before = len(self._returned)
        original(self, worker)
        self._returned[before:] = [(kind, name, None) for kind, name, _ in self._returned[before:]]

    monkeypatch.setattr(AnalysisPool, "_receive", failing)
    assert _facts(compile_plan(project, cache=False)) == _facts(reference)


def test_the_pool_is_used_for_large_cold_compiles_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[int] = []

    class Counting(AnalysisPool):
        def __init__(self, workers: int) -> None:
            super().__init__(workers)
            used.append(workers)

    monkeypatch.setattr(analysis_module, "AnalysisPool", Counting)
    monkeypatch.setattr(analysis_pool, "POOL_MIN_VIEWS", len(_VIEWS))
    project = load_project(write_project(tmp_path, _VIEWS))
    compile_plan(project)  # cold: every view misses
    assert used == [analysis_pool.worker_count()]
    compile_plan(project)  # warm: nothing to analyze
    assert used == [analysis_pool.worker_count()]


def test_a_compile_outlives_every_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """All workers dead before any work: what was queued for them is done in-process."""
    project = load_project(write_project(tmp_path, _VIEWS))
    reference = compile_plan(project, cache=False)

    class Dying(AnalysisPool):
        def __init__(self, workers: int) -> None:
            super().__init__(workers)
            assert self.wait_until_ready()
            for worker in self._workers:
                os.kill(worker.process.pid, signal.SIGKILL)
                worker.process.wait()

    monkeypatch.setattr(analysis_pool, "POOL_MIN_VIEWS", 0)
    monkeypatch.setattr(analysis_module, "AnalysisPool", Dying)
    assert _facts(compile_plan(project, cache=False)) == _facts(reference)


@st.composite
def _random_projects(draw: st.DrawFn) -> dict[str, str]:
    """Random DAGs of views over `orders`, some broken (unknown column, type error, cycle)."""
    n = draw(st.integers(min_value=2, max_value=9))
    views: dict[str, str] = {}
    for i in range(n):
        upstream = draw(st.sampled_from(["orders", *[f"v{j}" for j in range(i)]]))
        kind = draw(st.sampled_from(["ok", "ok", "ok", "unknown_column", "type", "cycle"]))
        if kind == "unknown_column":
            views[f"v{i}"] = f"select nope, order_id, amount from {upstream}"
        elif kind == "type":
            views[f"v{i}"] = f"select order_id, amount + 'x' || true as amount from {upstream}"
        elif kind == "cycle" and i + 1 < n:
            views[f"v{i}"] = f"select order_id, amount from v{i + 1}"
        else:
            views[f"v{i}"] = (
                f"select order_id, amount * {i + 1} as amount, "
                f"sum(amount) over (order by order_id) as running from {upstream}"
            )
    return views


@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(views=_random_projects())
def test_random_projects_compile_the_same_with_workers(
    tmp_path_factory: pytest.TempPathFactory, views: dict[str, str]
) -> None:
    project = load_project(write_project(tmp_path_factory.mktemp("random"), views))
    inline = compile_plan(project, cache=False)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(analysis_pool, "POOL_MIN_VIEWS", 0)
        pooled = compile_plan(project, cache=False)
    assert _facts(pooled) == _facts(inline)
