"""A compiled plan's file: its records encode themselves, deterministically, and are checked
on load (format, cpg version, the signature recomputed from the records)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cpg_core.plan import compile_plan
from cpg_core.plan.plan_file import (
    PlanFileError,
    decode_plan_file,
    encode_plan,
    read_plan_file,
    write_plan,
)
from cpg_core.project import load_project
from tests.dagster.projects import write_user_project

# -- the plan file --------------------------------------------------------------------------------------


def test_plan_file_round_trip_restores_the_same_plan(tmp_path: Path) -> None:
    project = load_project(write_user_project(tmp_path))
    plan = compile_plan(project, cache=False)
    data = encode_plan(plan)
    assert data == encode_plan(plan)  # deterministic bytes
    restored = decode_plan_file(data).plan(project)
    assert restored.signature == plan.signature
    assert dict(restored.tasks) == dict(plan.tasks)
    assert dict(restored.datasets) == dict(plan.datasets)
    assert restored.schedule == plan.schedule and dict(restored.costs) == dict(plan.costs)
    assert restored.problems == plan.problems
    assert restored.node_index == plan.node_index
    assert restored.singular_tests == plan.singular_tests


def test_plan_file_refuses_damage_and_other_versions(tmp_path: Path) -> None:
    project = load_project(write_user_project(tmp_path))
    data = json.loads(encode_plan(compile_plan(project, cache=False)))
    data["tasks"]["customer_totals"]["fingerprint"] = "0" * 64
    with pytest.raises(PlanFileError, match="does not verify"):
        decode_plan_file(json.dumps(data)).plan(project)
    with pytest.raises(PlanFileError, match="format 99"):
        decode_plan_file(json.dumps({**data, "format": 99}))
    with pytest.raises(PlanFileError, match="not a cpg plan file"):
        decode_plan_file(b"\x00garbage")
    with pytest.raises(PlanFileError, match="cannot read"):
        read_plan_file(tmp_path / "absent")


def test_write_plan_is_atomic_and_reads_back(tmp_path: Path) -> None:
    project = load_project(write_user_project(tmp_path))
    plan = compile_plan(project, cache=False)
    path = tmp_path / "state" / "plan.json"
    written = write_plan(plan, path)
    assert read_plan_file(path) == written
    assert [p.name for p in path.parent.iterdir()] == ["plan.json"]  # no temp file left
