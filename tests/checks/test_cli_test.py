"""`cpg test` as a user runs it: a real subprocess over a project built into a real store."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.plan.projects import write_project

CPG = [sys.executable, "-m", "cpg_core.cli"]
VIEWS = {
    "orders_v": (
        "-- @test not_null: order_id\n"
        "-- @test accepted_values: status in ('new', 'paid')\n"
        "-- @test expression: amount >= 5 ; name: big ; severity: warn\n"
        "-- @column amount: double -- the order's amount in euros\n"
        "select order_id, customer_id, amount, status from orders\n"
    ),
}


def _cpg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CPG, *args], cwd=cwd, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli_test")
    write_project(root, VIEWS)
    (root / "tests").mkdir()
    (root / "tests" / "no_void.sql").write_text(
        "-- @severity: warn\nselect order_id from orders_v where status = 'void'\n"
    )
    built = _cpg("build", cwd=root)
    assert built.returncode == 0, built.stderr
    return root


def test_failures_are_printed_and_an_error_failure_exits_one(project: Path) -> None:
    result = _cpg("test", "--fresh", cwd=project)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[:-1] == [
        "FAIL  orders_v.accepted_values_status [accepted_values, severity error]  "
        "views/orders_v.sql:2",
        "      1 failing row(s)",
        '      {"order_id":4,"customer_id":30,"amount":9.0,"status":"void"}',
        "WARN  orders_v.big [expression, severity warn]  views/orders_v.sql:3",
        "      1 failing row(s)",
        '      {"order_id":3,"customer_id":20,"amount":1.25,"status":"paid"}',
        "WARN  no_void [singular, severity warn]  tests/no_void.sql",
        "      1 failing row(s)",
        '      {"order_id":4}',
    ]
    assert result.stdout.splitlines()[-1].startswith(
        "4 test(s): 1 passed, 1 failed, 2 warned, 0 error(s) in "
    )


def test_unchanged_tables_come_from_the_cache(project: Path) -> None:
    _cpg("test", cwd=project)
    again = _cpg("test", cwd=project)
    assert "(4 from cache)" in again.stdout.splitlines()[-1]
    fresh = _cpg("test", "--fresh", cwd=project)
    assert "from cache" not in fresh.stdout


def test_select_json_and_warnings_only(project: Path) -> None:
    result = _cpg("test", "--select", "orders_v.big", "--select", "no_void", "--json", cwd=project)
    assert result.returncode == 0, result.stdout  # only warnings failed
    report = json.loads(result.stdout)
    assert report["kind"] == "data_test_report"
    assert [(r["id"], r["status"]) for r in report["results"]] == [
        ("orders_v.big", "failed"),
        ("no_void", "failed"),
    ]
    assert report["counts"]["warned"] == 2


def test_a_time_limit_runs_tests_in_a_worker(project: Path) -> None:
    result = _cpg("test", "--fresh", "--timeout", "30", "--select", "orders_v", cwd=project)
    assert result.returncode == 1
    assert "3 test(s): 1 passed, 1 failed, 1 warned, 0 error(s)" in result.stdout


def test_cannot_run(project: Path, tmp_path: Path) -> None:
    unknown = _cpg("test", "--select", "orders", cwd=project)
    assert unknown.returncode == 2
    assert "--select: no view or test named 'orders' (did you mean 'orders_v'?)" in unknown.stderr
    write_project(tmp_path, VIEWS)
    no_store = _cpg("test", cwd=tmp_path)
    assert no_store.returncode == 2 and "run `cpg build` first" in no_store.stderr


def test_views_lists_documented_columns(project: Path) -> None:
    result = _cpg("views", cwd=project)
    assert "    amount: double -- the order's amount in euros" in result.stdout.splitlines()
