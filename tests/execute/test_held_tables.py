"""A build holds a view's output only while a view still to run reads it (real DataFusion, Delta,
Hamilton, data tests): the peak of held tables is bounded by the plan's shape, not by the number
of views, and nothing of the run holds an output once the build is over. `RunResult.tables`
reads each output back from the store, with the rows and data version the run committed.

How it is observed: a weak reference to every table the executor hands the run
(`Run.view_finished`, which still does its real work), checked when each view starts and when
the run finishes (`RunFinish` is emitted after the last write and the last data test)."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from cpg_core.execute.run import Run
from cpg_core.execute.versions import data_version
from cpg_core.pipeline import BuildEvent, build_project
from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from cpg_core.settings import ExecutionMode, ExecutorConfig
from cpg_core.store.events import RunFinish, TaskStart
from tests.plan.projects import write_project

CHAIN = 16
# step_k reads step_{k-1}; `last` reads the first and the last step (held to the end)
VIEWS = {
    "step_0": "-- @keys: order_id\nselect order_id, amount from orders\n",
    **{
        f"step_{k}": f"-- @keys: order_id\nselect order_id, amount + 1 as amount from step_{k - 1}\n"
        for k in range(1, CHAIN)
    },
    "last": (
        f"select a.order_id, a.amount, b.amount as first from step_{CHAIN - 1} a "
        "join step_0 b using (order_id)\n"
    ),
}
READS = {
    **{f"step_{k}": {f"step_{k - 1}"} for k in range(1, CHAIN)},
    "last": {"step_0", f"step_{CHAIN - 1}"},
}
MODES = {
    "serial": ExecutorConfig(),
    "threads": ExecutorConfig(mode=ExecutionMode.PARALLEL, max_tasks=2),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_a_build_holds_only_the_tables_still_to_be_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    outputs: dict[str, weakref.ref[pa.Table]] = {}
    finish = Run.view_finished

    def observed(run: Run, name: str, result: Any, cache_key: str | None) -> None:
        outputs[name] = weakref.ref(result)
        finish(run, name, result, cache_key)

    monkeypatch.setattr(Run, "view_finished", observed)
    started: list[str] = []
    extra: list[int] = []  # per view start: held outputs no view still to run reads
    held_at_finish: list[set[str]] = []

    def held() -> set[str]:
        gc.collect()
        return {name for name, ref in outputs.items() if ref() is not None}

    def on_event(event: BuildEvent) -> None:
        if isinstance(event, TaskStart):
            started.append(event.task)
            to_read = {r for view, reads in READS.items() if view not in started for r in reads}
            extra.append(len(held() - to_read - {event.task}))
        elif isinstance(event, RunFinish):
            held_at_finish.append(held())

    project = load_project(write_project(tmp_path, VIEWS))
    plan = compile_plan(project, cache=False)
    build = build_project(project, plan=plan, config=MODES[mode], on_event=on_event)

    assert set(outputs) == set(VIEWS)
    assert held_at_finish == [set()]  # the executor, the writer and the tests let go of all
    # while it runs, besides the tables still to be read, only those waiting for the writer
    # (at most 2) or for their tests: with every output held this would reach CHAIN
    assert max(extra) <= CHAIN // 2, extra
    assert build.result.manifest.data_tests is not None
    assert {r.status for r in build.result.manifest.data_tests.results} == {"passed"}


def test_run_result_tables_read_back_what_the_run_committed(tmp_path: Path) -> None:
    project = load_project(write_project(tmp_path, VIEWS))
    plan = compile_plan(project, cache=False)
    result = build_project(project, plan=plan).result

    assert list(result.tables) == [o.name for o in result.manifest.outputs]
    committed = {o.name: o.data_version for o in result.manifest.outputs}
    for name, version in committed.items():
        table = result.tables[name]
        assert table.num_rows == 4
        assert data_version(table) == version  # remembered from the store
        assert data_version(table.slice(0)) == version  # and recomputed: the same rows
    assert result.tables["step_3"].column("amount").to_pylist() == [
        a + 3 for a in result.tables["step_0"].column("amount").to_pylist()
    ]
