"""Golden tests for every artifact contract: JSON, MsgPack, JSON Schema, validation-error text."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from cpg_core.artifacts.contracts import ArtifactEnvelope
from cpg_core.artifacts.envelope import (
    artifact_id,
    from_json,
    from_msgpack,
    to_json,
    to_msgpack,
    wrap,
)
from cpg_core.artifacts.from_plan import schedule_artifact, semantic_registry, validation_artifact
from cpg_core.artifacts.schema_export import SCHEMA_DIR, schema_texts
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.plan.pruning import prune
from cpg_core.project import load_project
from tests.artifacts.projects import VIEWS
from tests.golden import check_golden
from tests.plan.projects import write_project


@pytest.fixture(scope="module")
def plan(tmp_path_factory: pytest.TempPathFactory) -> ExecutionPlan:
    project = load_project(write_project(tmp_path_factory.mktemp("golden"), VIEWS))
    first = compile_plan(project, cache=False, history={})
    # Fixed "measured" durations make the costs independent of file sizes.
    history = {
        t.fingerprint: 0.25 * (i + 1) for i, t in enumerate(first.tasks.values()) if t.fingerprint
    }
    return compile_plan(project, cache=False, history=history)


def _artifacts(plan: ExecutionPlan) -> dict[str, ArtifactEnvelope]:
    return {
        "plan_schedule": wrap(schedule_artifact(plan)),
        "plan_schedule_pruned": wrap(
            schedule_artifact(plan, prune(plan, outputs=["ranked"], changed_views=["ranked"]))
        ),
        "plan_validation": wrap(validation_artifact(plan)),
        "semantic_registry": wrap(semantic_registry(plan)),
    }


@pytest.mark.parametrize(
    "name", ["plan_schedule", "plan_schedule_pruned", "plan_validation", "semantic_registry"]
)
def test_json_and_msgpack_goldens_round_trip(plan: ExecutionPlan, name: str) -> None:
    envelope = _artifacts(plan)[name]
    as_json = to_json(envelope)
    pretty = json.dumps(json.loads(as_json), indent=2, sort_keys=True) + "\n"
    check_golden(f"artifacts/{name}.json", pretty)
    as_msgpack = to_msgpack(envelope)
    check_golden(f"artifacts/{name}.msgpack.hex", as_msgpack.hex() + "\n")
    assert from_json(as_json) == envelope
    assert from_msgpack(as_msgpack) == envelope
    assert envelope.artifact_id == artifact_id(envelope.artifact)


def test_artifact_ids_are_stable_across_compiles(plan: ExecutionPlan, tmp_path: Path) -> None:
    again = compile_plan(
        plan.project,
        cache=False,
        history={t.fingerprint: plan.costs[n].seconds for n, t in plan.tasks.items() if t.admitted},
    )
    assert {k: v.artifact_id for k, v in _artifacts(again).items()} == {
        k: v.artifact_id for k, v in _artifacts(plan).items()
    }


def test_exported_json_schemas_match_the_committed_files() -> None:
    for name, text in schema_texts().items():
        check_golden(f"artifacts/schemas/{name}", text)
        assert (SCHEMA_DIR / name).read_text(encoding="utf-8") == text, (
            f"run `cpg schemas --write {SCHEMA_DIR}`"
        )


MALFORMED = {
    "wrong_type": {
        "artifact_id": "x",
        "schema_version": 1,
        "artifact": {"kind": "plan_schedule", "signature": 3},
    },
    "unknown_kind": {"artifact_id": "x", "artifact": {"kind": "plan_party"}},
    "missing_field": {
        "artifact_id": "x",
        "artifact": {"kind": "semantic_registry", "signature": "s"},
    },
    "unknown_field": {
        "artifact_id": "x",
        "artifact": {"kind": "semantic_registry", "signature": "s", "entries": [], "extra": 1},
    },
    "bad_problem_code": {
        "artifact_id": "x",
        "artifact": {
            "kind": "plan_validation",
            "signature": "s",
            "valid": False,
            "tasks": [],
            "edges": [],
            "problems": [{"code": "oops", "view": "v", "message": "m"}],
            "counts": {"tasks": 0, "admitted": 0, "rejected": 0, "problems": 1, "by_code": {}},
        },
    },
}


def test_validation_error_text_of_malformed_payloads() -> None:
    lines = []
    for label, payload in MALFORMED.items():
        with pytest.raises(msgspec.ValidationError) as caught:
            from_json(json.dumps(payload))
        lines.append(f"{label}: {caught.value}")
    check_golden("artifacts/validation_errors.txt", "\n".join(lines) + "\n")
