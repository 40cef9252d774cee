"""Remote mode on a real local Dask cluster (and on Ray when it is installed).

Costs are forced through `compile_plan(history=...)` (measured durations by fingerprint), so
exactly the views whose cost reaches the threshold go out of process and the rest run on
threads. Each build starts its own cluster and closes it (2 to 5 s here).
"""

from __future__ import annotations

import importlib
import os
import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from cpg_core.execute import BuildError, ExecutionMode, ExecutorConfig, build
from cpg_core.execute.pools import RemotePool, RemoteTaskError, _portable, open_pool
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.project import load_project
from cpg_core.settings import ExecutorKind
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import TaskError, TaskFinish, decode_payload, read_events
from tests.execute.helpers import VIEWS, direct_hashes, hashes, read_inputs
from tests.plan.projects import write_project

COSTS = {"paid": 2.0, "by_country": 3.0, "by_customer": 0.1, "report": 0.2, "statuses": 0.1}
THRESHOLD = 1.0
REMOTE = {"paid", "by_country"}
BOOM = {
    **VIEWS,
    # same output schema (report stays admitted), fails at run time: 'ann' is not a number
    "by_country": (
        "select c.country, sum(p.amount + cast(c.name as double)) as total from paid p "
        "join customers c using (customer_id) group by c.country"
    ),
}


def _plan(root: Path, views: Mapping[str, str] = VIEWS) -> ExecutionPlan:
    """Compile with the forced costs as measured durations."""
    project = load_project(write_project(root, views))
    first = compile_plan(project, cache=False, history={})
    history = {first.tasks[v].fingerprint: s for v, s in COSTS.items() if first.tasks[v].admitted}
    plan = compile_plan(project, cache=False, history=history)
    assert {v: plan.costs[v].seconds for v in COSTS} == COSTS
    return plan


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[RemotePool]:
    """The real pools the build opens (kept to see which process ran each node)."""
    pools: list[RemotePool] = []

    def recording_open_pool(kind: ExecutorKind, workers: int) -> RemotePool:
        pool = open_pool(kind, workers)
        pools.append(pool)
        return pool

    # the module, not the `build` function that cpg_core.execute re-exports under the same name
    build_module = importlib.import_module("cpg_core.execute.build")
    monkeypatch.setattr(build_module, "open_pool", recording_open_pool)
    return pools


def _events(store: Path) -> list[Any]:
    table = read_events(DeltaStore(store))
    return [decode_payload(p) for p in table.column("payload").to_pylist()]


def _check_remote_build(tmp_path: Path, kind: ExecutorKind, opened: list[RemotePool]) -> None:
    plan = _plan(tmp_path)
    inputs = read_inputs(tmp_path)
    serial = build(plan, store=tmp_path / "serial", inputs=inputs)
    config = ExecutorConfig(
        mode=ExecutionMode.REMOTE, executor=kind, max_tasks=2, remote_threshold_s=THRESHOLD
    )
    result = build(plan, store=tmp_path / kind, inputs=inputs, config=config)

    assert hashes(result.tables) == hashes(serial.tables) == direct_hashes(plan, inputs)
    assert set(result.executed) == set(VIEWS)
    routing = {r.task: r for r in result.manifest.routing}
    assert set(routing) == set(VIEWS)
    for view, decision in routing.items():
        if view in REMOTE:
            assert decision.executor == kind
            assert decision.reason == f"cost {COSTS[view]:g} s >= threshold 1 s"
        else:
            assert decision.executor == "threads"
            assert decision.reason == f"cost {COSTS[view]:g} s < threshold 1 s"
    assert result.manifest.mode == "remote" and result.manifest.executor == kind

    # really out of process: the pool ran exactly the remote views, in other processes
    (pool,) = opened
    assert pool.name == kind
    assert set(pool.ran_in) == REMOTE
    assert os.getpid() not in set(pool.ran_in.values())
    finishes = {e.task: e for e in _events(tmp_path / kind) if isinstance(e, TaskFinish)}
    assert {v for v, e in finishes.items() if e.executor == kind} == REMOTE


def test_dask_runs_costly_views_on_a_local_cluster(
    tmp_path: Path, opened: list[RemotePool]
) -> None:
    pytest.importorskip("distributed", reason="the remote extra is not installed")
    _check_remote_build(tmp_path, "dask", opened)


def test_a_view_failing_on_dask_fails_the_run_by_name(
    tmp_path: Path, opened: list[RemotePool]
) -> None:
    pytest.importorskip("distributed", reason="the remote extra is not installed")
    plan = _plan(tmp_path, BOOM)
    store = tmp_path / "s"
    config = ExecutorConfig(
        mode=ExecutionMode.REMOTE, executor="dask", max_tasks=2, remote_threshold_s=THRESHOLD
    )
    with pytest.raises(
        BuildError, match=r"view 'by_country' failed: .*Cannot cast string 'ann'"
    ) as failure:
        build(plan, store=store, inputs=read_inputs(tmp_path), config=config)
    assert failure.value.view == "by_country"
    assert "paid" in failure.value.kept  # paid also ran on dask, before by_country
    assert not DeltaStore(store).exists("report")
    errors = [e for e in _events(store) if isinstance(e, TaskError)]
    assert [(e.task, e.executor) for e in errors] == [("by_country", "dask")]
    (pool,) = opened
    assert "by_country" not in pool.ran_in


def test_ray_runs_costly_views_when_installed(tmp_path: Path, opened: list[RemotePool]) -> None:
    pytest.importorskip(
        "ray", reason="ray is optional and not installed (pip install ray); Dask covers remote mode"
    )
    _check_remote_build(tmp_path, "ray", opened)


def test_unpicklable_worker_errors_travel_as_remote_task_errors() -> None:
    class _TwoArgError(Exception):
        """Its __init__ does not take its message, like ViewExecutionError's: pickle cannot
        rebuild it. Defined here, because importing distributed patches the pickling of every
        exception class that exists at that moment (tblib), which would make this test depend
        on test order."""

        def __init__(self, view: str, reason: str) -> None:
            super().__init__(f"view {view!r} failed: {reason}")

    with pytest.raises(Exception):  # noqa: B017 - TypeError or PicklingError, either will do
        pickle.loads(pickle.dumps(_TwoArgError("v", "bad cast")))
    try:
        raise _TwoArgError("v", "bad cast")
    except _TwoArgError as error:
        portable = _portable(error)
    assert isinstance(portable, RemoteTaskError)
    again = pickle.loads(pickle.dumps(portable))
    assert str(again) == "_TwoArgError: view 'v' failed: bad cast"
    assert "raise _TwoArgError" in again.remote_traceback
    plain = ValueError("fine")
    assert _portable(plain) is plain
