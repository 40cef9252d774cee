"""The planning worker process gives exactly the in-process results, and its death is harmless."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from cpg_core.plan import compile_plan, engine_pool
from cpg_core.plan import compiler as compiler_module
from cpg_core.plan.engine_check import EngineError
from cpg_core.plan.engine_pool import PlanningEngine
from cpg_core.project import load_project
from tests.plan.projects import write_project

_VIEWS = {
    "a": "select order_id, amount, status from orders",
    "b": "select order_id, amount * 2 as twice from a",
    "c": "select amount + status as bad from a",  # DataFusion type error
    "d": "select twice, row_number() over (order by twice) as rn from b",
    "e": "select nope from b",  # sqlglot error
}


def test_worker_and_in_process_compiles_are_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(write_project(tmp_path, _VIEWS))
    inline = compile_plan(project, cache=False)
    monkeypatch.setattr(engine_pool, "PROCESS_ENGINE_MIN_VIEWS", 0)
    used: list[bool] = []

    class BootedEngine(PlanningEngine):
        """Waits for the worker so this small compile really plans there."""

        def __init__(self, *, in_process: bool) -> None:
            super().__init__(in_process=in_process)
            used.append(self.wait_until_ready())

    monkeypatch.setattr(compiler_module, "PlanningEngine", BootedEngine)
    worker = compile_plan(project, cache=False)
    assert used == [True]
    assert worker.signature == inline.signature
    assert worker.problems == inline.problems
    assert {n: t.output_schema for n, t in worker.tasks.items()} == {
        n: t.output_schema for n, t in inline.tasks.items()
    }
    assert [p.code.value for p in worker.problems] == ["type_mismatch", "unknown_column"]


def test_a_dead_worker_falls_back_to_planning_in_process() -> None:
    schema = pa.schema([("x", pa.int64())])
    with PlanningEngine(in_process=False) as engine:
        assert engine.wait_until_ready()
        assert engine.plan("v1", "select x + 1 as y from t", {"t": schema})() == pa.schema(
            [("y", pa.int64())]
        )
        process = engine._process
        assert process is not None
        process.kill()
        process.wait()
        result = engine.plan("v2", "select x from t", {"t": schema})()
        assert result == schema
        assert not engine.uses_worker
        with pytest.raises(EngineError):
            engine.plan("v3", "select x || true from t where", {"t": schema})()
