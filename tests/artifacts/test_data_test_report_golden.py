"""Golden tests for the `DataTestReport` contract: JSON, MsgPack, envelope, validation-error text.

The report comes from a real `run_tests` over a real build. Each result's `duration_s` is wall
time and is fixed before the comparison; everything else (statuses, counts, samples, details,
data versions, definition hashes) is equal on every run. Its JSON Schema is checked with the
others in test_contract_goldens.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from cpg_core.artifacts.contracts import CONTRACTS, DataTestReport
from cpg_core.artifacts.envelope import (
    artifact_id,
    from_json,
    from_msgpack,
    to_json,
    to_msgpack,
    wrap,
)
from cpg_core.checks.run import run_tests
from cpg_core.pipeline import build_project
from cpg_core.plan import compile_plan
from cpg_core.project import load_project
from tests.golden import check_golden
from tests.plan.projects import write_project

VIEWS = {
    "orders_v": (
        "-- @keys: order_id\n"
        "-- @test accepted_values: status in ('new', 'paid')\n"
        "-- @test expression: amount >= 5 ; name: big ; severity: warn\n"
        "-- @test unique: customer_id\n"
        "select order_id, customer_id, amount, status from orders\n"
    ),
    "broken": "-- @test not_null: x\nselect nope as x from orders\n",
}
FIXED_DURATION_S = 0.25


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> DataTestReport:
    root = tmp_path_factory.mktemp("report")
    (root / "tests").mkdir()
    (root / "tests" / "no_void.sql").write_text(
        "-- Void orders are cancelled upstream.\nselect order_id from orders_v where status = 'void'\n"
    )
    project = load_project(write_project(root, VIEWS))
    plan = compile_plan(project, cache=False)
    build_project(project, plan=plan)
    found = run_tests(plan)
    results = tuple(msgspec.structs.replace(r, duration_s=FIXED_DURATION_S) for r in found.results)
    return msgspec.structs.replace(found, results=results)


def test_data_test_report_goldens_round_trip(report: DataTestReport) -> None:
    assert [r.status for r in report.results] == [
        "passed",
        "failed",
        "failed",
        "failed",
        "error",
        "failed",
    ]
    envelope = wrap(report)
    as_json = to_json(envelope)
    check_golden(
        "artifacts/data_test_report.json",
        json.dumps(json.loads(as_json), indent=2, sort_keys=True) + "\n",
    )
    as_msgpack = to_msgpack(envelope)
    check_golden("artifacts/data_test_report.msgpack.hex", as_msgpack.hex() + "\n")
    assert from_json(as_json) == envelope
    assert from_msgpack(as_msgpack) == envelope
    assert envelope.artifact_id == artifact_id(report)
    assert CONTRACTS["data_test_report"] is DataTestReport


RESULT = {
    "id": "v.t",
    "name": "t",
    "view": "v",
    "kind": "not_null",
    "severity": "error",
    "status": "passed",
    "failing_rows": 0,
    "definition_hash": "h",
    "duration_s": 0.1,
}
REPORT = {
    "kind": "data_test_report",
    "plan_signature": "s",
    "results": [RESULT],
    "counts": {"tests": 1, "passed": 1, "failed": 0, "warned": 0, "errors": 0, "cached": 0},
}
MALFORMED = {
    "bad_status": {**REPORT, "results": [{**RESULT, "status": "skipped"}]},
    "bad_severity": {**REPORT, "results": [{**RESULT, "severity": "fatal"}]},
    "missing_failing_rows": {
        **REPORT,
        "results": [{k: v for k, v in RESULT.items() if k != "failing_rows"}],
    },
    "sample_not_rows": {**REPORT, "results": [{**RESULT, "sample": [1, 2]}]},
    "bad_reads": {**REPORT, "results": [{**RESULT, "reads": {"v": 3}}]},
    "missing_counts": {k: v for k, v in REPORT.items() if k != "counts"},
    "unknown_field": {**REPORT, "extra": True},
}


def test_data_test_report_validation_error_text() -> None:
    lines = []
    for label, payload in MALFORMED.items():
        with pytest.raises(msgspec.ValidationError) as caught:
            from_json(json.dumps({"artifact_id": "x", "artifact": payload}))
        lines.append(f"{label}: {caught.value}")
    check_golden("artifacts/data_test_report_validation_errors.txt", "\n".join(lines) + "\n")
    ok = from_json(json.dumps({"artifact_id": "x", "artifact": REPORT})).artifact
    assert isinstance(ok, DataTestReport) and ok.ok


def test_the_report_fails_only_on_error_severity(report: DataTestReport) -> None:
    assert not report.ok
    warnings = [r for r in report.results if r.severity == "warn"]
    only_warnings = msgspec.structs.replace(report, results=tuple(warnings))
    assert warnings and only_warnings.ok


def test_a_path_never_enters_the_golden(report: DataTestReport, tmp_path: Path) -> None:
    text = json.dumps(msgspec.to_builtins(report))
    assert "/tmp" not in text and str(tmp_path.parent) not in text
