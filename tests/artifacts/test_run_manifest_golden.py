"""Golden tests for the `RunManifest` contract: JSON, MsgPack, envelope, validation-error text.

The manifest comes from a real serial build of the artifact goldens' project (same views, same
fixed costs) into a fresh store. Two fields are not deterministic and are fixed before the
comparison: `run_id` (a fresh uuid4 per run) and `duration_s` (wall time). Everything else —
signatures, artifact IDs, data and Delta versions, rows, bytes, Hamilton cache keys, routing,
submission order — is equal on every run of a serial build of the same plan and inputs (tested
below). Its JSON Schema is checked with the others in test_contract_goldens.py.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from cpg_core.artifacts.contracts import CONTRACTS, RunManifest
from cpg_core.artifacts.envelope import (
    artifact_id,
    cache_lineage_json,
    decode_manifest,
    from_json,
    from_msgpack,
    manifest_json,
    to_json,
    to_msgpack,
    wrap,
)
from cpg_core.artifacts.from_plan import schedule_artifact, validation_artifact
from cpg_core.execute import build
from cpg_core.execute.driver_cache import forget_drivers
from cpg_core.plan import ExecutionPlan, compile_plan
from cpg_core.project import load_project
from tests.artifacts.projects import VIEWS
from tests.execute.helpers import read_inputs
from tests.golden import check_golden
from tests.plan.projects import write_project

FIXED_RUN_ID = "0" * 32
FIXED_DURATION_S = 1.5


@pytest.fixture(scope="module")
def project_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("manifest")


@pytest.fixture(scope="module")
def plan(project_root: Path) -> ExecutionPlan:
    """The artifact goldens' plan: same views, same fixed "measured" costs."""
    project = load_project(write_project(project_root, VIEWS))
    first = compile_plan(project, cache=False, history={})
    history = {
        t.fingerprint: 0.25 * (i + 1) for i, t in enumerate(first.tasks.values()) if t.fingerprint
    }
    return compile_plan(project, cache=False, history=history)


@pytest.fixture(autouse=True)
def _fresh_drivers() -> Iterator[None]:
    forget_drivers()
    yield
    forget_drivers()


def _manifest(plan: ExecutionPlan, root: Path, store: Path) -> RunManifest:
    return build(plan, store=store, inputs=read_inputs(root)).manifest


def _fixed(manifest: RunManifest) -> RunManifest:
    """The manifest with its two non-deterministic fields fixed."""
    return msgspec.structs.replace(manifest, run_id=FIXED_RUN_ID, duration_s=FIXED_DURATION_S)


def test_run_manifest_goldens_round_trip(
    plan: ExecutionPlan, project_root: Path, tmp_path: Path
) -> None:
    manifest = _fixed(_manifest(plan, project_root, tmp_path / "store"))
    envelope = wrap(manifest)
    as_json = to_json(envelope)
    pretty = json.dumps(json.loads(as_json), indent=2, sort_keys=True) + "\n"
    check_golden("artifacts/run_manifest.json", pretty)
    as_msgpack = to_msgpack(envelope)
    check_golden("artifacts/run_manifest.msgpack.hex", as_msgpack.hex() + "\n")
    assert from_json(as_json) == envelope
    assert from_msgpack(as_msgpack) == envelope
    assert envelope.artifact_id == artifact_id(manifest)
    # the bare manifest (what `cpg build --json` prints) round-trips too
    assert decode_manifest(manifest_json(manifest)) == manifest
    # linked to the plan's artifacts by their deterministic IDs
    assert manifest.schedule_artifact_id == artifact_id(schedule_artifact(plan))
    assert manifest.validation_artifact_id == artifact_id(validation_artifact(plan))
    assert [o.name for o in manifest.outputs] == ["paid", "per_customer", "ranked"]


def test_run_manifest_is_deterministic_but_for_run_id_and_duration(
    plan: ExecutionPlan, project_root: Path, tmp_path: Path
) -> None:
    first = _manifest(plan, project_root, tmp_path / "a")
    second = _manifest(plan, project_root, tmp_path / "b")
    assert first.run_id != second.run_id
    assert _fixed(first) == _fixed(second)
    assert cache_lineage_json(first) == cache_lineage_json(second)


def test_run_manifest_is_a_contract_and_still_exported_by_execute() -> None:
    assert CONTRACTS["run_manifest"] is RunManifest
    from cpg_core.execute import RunManifest as FromExecute

    assert FromExecute is RunManifest


MANIFEST = {
    "kind": "run_manifest",
    "run_id": "r",
    "plan_signature": "s",
    "reduced_signature": "s",
    "schedule_artifact_id": "a",
    "validation_artifact_id": "b",
    "mode": "serial",
    "executor": "threads",
    "max_tasks": 1,
    "selected": None,
    "read_from_store": [],
    "submission_order": ["v"],
    "routing": [{"task": "v", "executor": "main", "reason": "serial mode"}],
    "outputs": [],
    "inputs": {},
    "cache": [],
    "executed": ["v"],
    "duration_s": 0.5,
}
MALFORMED = {
    "wrong_type": {**MANIFEST, "max_tasks": "two"},
    "missing_field": {k: v for k, v in MANIFEST.items() if k != "plan_signature"},
    "unknown_field": {**MANIFEST, "extra": 1},
    "bad_routing": {**MANIFEST, "routing": [{"task": "v", "executor": "main"}]},
    "bad_output": {
        **MANIFEST,
        "outputs": [
            {
                "name": "v",
                "data_version": "d",
                "delta_version": "zero",
                "fingerprint": "f",
                "rows": 1,
                "bytes": 2,
                "written": True,
            }
        ],
    },
    "bad_lineage": {
        **MANIFEST,
        "cache": [
            {
                "view": "v",
                "cache_key": None,
                "hit": False,
                "fingerprint": "f",
                "upstream_versions": {"orders": 3},
            }
        ],
    },
}


def test_run_manifest_validation_error_text() -> None:
    lines = []
    for label, payload in MALFORMED.items():
        with pytest.raises(msgspec.ValidationError) as bare:
            decode_manifest(json.dumps(payload))
        with pytest.raises(msgspec.ValidationError) as enveloped:
            from_json(json.dumps({"artifact_id": "x", "artifact": payload}))
        lines.append(f"{label}: {bare.value}")
        lines.append(f"{label} (envelope): {enveloped.value}")
    check_golden("artifacts/run_manifest_validation_errors.txt", "\n".join(lines) + "\n")
    assert decode_manifest(json.dumps(MANIFEST)).routing[0].reason == "serial mode"
