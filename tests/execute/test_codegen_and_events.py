"""The generated module, code versions that ignore costs and cosmetics, events and the manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from hamilton import graph_types

from cpg_core.artifacts.envelope import (
    artifact_id,
    cache_lineage_json,
    decode_manifest,
    manifest_json,
)
from cpg_core.artifacts.from_plan import schedule_artifact, validation_artifact
from cpg_core.execute import build
from cpg_core.execute.codegen import CodegenError, _check_name, module_source
from cpg_core.execute.driver_cache import driver_for
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import CacheHit, TaskFinish, TaskStart, decode_payload, read_events
from cpg_core.store.history import load_durations
from tests.execute.helpers import VIEWS, compile_project, read_inputs


def _code_versions(plan_root: Path, views: dict[str, str], store: Path) -> dict[str, str | None]:
    plan = compile_project(plan_root, views)
    entry, _ = driver_for(plan, DeltaStore(store))
    graph = graph_types.HamiltonGraph.from_graph(entry.driver.graph)
    return {n.name: n.version for n in graph.nodes if n.name in VIEWS}


def test_code_versions_ignore_sql_text_and_tags(tmp_path: Path) -> None:
    store = tmp_path / "s"
    before = _code_versions(tmp_path, VIEWS, store)
    cosmetic = {**VIEWS, "paid": VIEWS["paid"].upper().replace("'PAID'", "'paid'")}
    assert _code_versions(tmp_path, cosmetic, store) == before
    changed = {**VIEWS, "paid": VIEWS["paid"] + " and amount > 1"}
    assert _code_versions(tmp_path, changed, store) == before  # semantics ride on the fingerprint


def test_view_nodes_take_their_inputs_and_carry_schedule_tags(tmp_path: Path) -> None:
    plan = compile_project(tmp_path)
    entry, _ = driver_for(plan, DeltaStore(tmp_path / "s"))
    report = entry.driver.graph.nodes["report"]
    assert sorted(d.name for d in report.dependencies) == [
        "by_country",
        "by_customer",
        "customers",
        "report__fingerprint",
        "report__task",
    ]
    tags = report.tags
    assert tags["cpg.order"] == str(plan.schedule.order.index("report"))
    assert tags["cpg.critical_path"] in ("true", "false")
    assert all(isinstance(v, str) for v in tags.values())
    assert {"plan_signature", "task_schedule", "task_generations"} <= set(entry.driver.graph.nodes)
    assert entry.module.path.read_text(encoding="utf-8").count("def ") == 3 + len(VIEWS)


def test_unusable_view_names_are_rejected(tmp_path: Path) -> None:
    # The compiler rejects the name (invalid_name), so it never reaches the generated module...
    plan = compile_project(tmp_path, {"task_schedule": "select 1 as x from orders"})
    assert "task_schedule" not in plan.tasks
    assert [p.code.value for p in plan.problems if p.view == "task_schedule"] == ["invalid_name"]
    assert "def task_schedule(execution_plan" in module_source(plan)[0]  # only the plan's own
    # ...and codegen still refuses it, should a plan ever carry one.
    with pytest.raises(CodegenError, match="task_schedule"):
        _check_name("task_schedule", "view", {"task_schedule"})


def test_events_durations_and_manifest(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    inputs = read_inputs(tmp_path)
    first = build(plan, store=store, inputs=inputs)
    second = build(plan, store=store, inputs=inputs)
    events = read_events(DeltaStore(store), second.manifest.run_id)
    payloads = [decode_payload(p) for p in events.column("payload").to_pylist()]
    assert set(events.column("plan_signature").to_pylist()) == {plan.signature}
    finishes = [p for p in payloads if isinstance(p, TaskFinish)]
    assert {f.task for f in finishes} == set(VIEWS)
    assert all(f.cache_hit and f.rows is not None and f.executor == "main" for f in finishes)
    assert sum(isinstance(p, TaskStart) for p in payloads) == len(VIEWS)
    assert not any(isinstance(p, CacheHit) for p in payloads)

    durations = load_durations(store)
    assert {plan.tasks[v].fingerprint for v in VIEWS} <= set(durations)

    manifest = second.manifest
    assert manifest.schedule_artifact_id == artifact_id(schedule_artifact(plan))
    assert manifest.validation_artifact_id == artifact_id(validation_artifact(plan))
    assert decode_manifest(manifest_json(manifest)) == manifest
    assert cache_lineage_json(first.manifest) != cache_lineage_json(manifest)  # hits differ
    third = build(plan, store=store, inputs=inputs)
    assert cache_lineage_json(third.manifest) == cache_lineage_json(manifest)
    assert manifest.submission_order == tuple(v for v in plan.schedule.order if v in VIEWS)


def test_a_deleted_store_does_not_leave_nodes_without_code_versions(tmp_path: Path) -> None:
    import shutil

    first = tmp_path / "first"
    versions = _code_versions(tmp_path, VIEWS, first)
    assert all(versions.values())
    shutil.rmtree(first)  # the module file the process imported is gone
    again = _code_versions(tmp_path, VIEWS, tmp_path / "second")
    assert again == versions
