"""`cpg build` and `cpg query` as a user runs them: real subprocesses, real stores on disk."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import FIXTURE_REPO
from tests.plan.projects import write_project

CPG = [sys.executable, "-m", "cpg_core.cli"]

VIEWS = {
    "paid": "select order_id, customer_id, amount from orders where status = 'paid'",
    "by_customer": "select customer_id, sum(amount) as total from paid group by customer_id",
}


def _cpg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CPG, *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_build_json_prints_the_manifest_and_rebuild_executes_nothing(tmp_path: Path) -> None:
    write_project(tmp_path, VIEWS)
    first = _cpg("build", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    manifest = json.loads(first.stdout)
    assert [o["name"] for o in manifest["outputs"]] == ["paid", "by_customer"]
    assert set(manifest["executed"]) == {"paid", "by_customer"}
    assert (tmp_path / ".cpg" / "store").is_dir()
    second = _cpg("build", "--json", cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["executed"] == []


def test_build_summary_and_query_formats(tmp_path: Path) -> None:
    write_project(tmp_path, VIEWS)
    built = _cpg("build", "--mode", "parallel", "--max-tasks", "2", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "by_customer" in built.stderr and "cpg query --store" in built.stderr
    csv = _cpg(
        "query",
        "select customer_id, total from by_customer order by 1",
        "--format",
        "csv",
        cwd=tmp_path,
    )
    assert csv.returncode == 0, csv.stderr
    assert csv.stdout.splitlines() == ["customer_id,total", "10,7.5", "20,1.25"]
    lines = _cpg("query", "select count(*) as n from paid", "--format", "json", cwd=tmp_path)
    assert json.loads(lines.stdout) == {"n": 2}
    table = _cpg("query", "select * from paid", cwd=tmp_path)
    assert "2 rows" in table.stdout


def test_query_rejects_writes_and_names_unknown_tables(tmp_path: Path) -> None:
    write_project(tmp_path, VIEWS)
    assert _cpg("build", cwd=tmp_path).returncode == 0
    dropped = _cpg("query", "drop table paid", cwd=tmp_path)
    assert dropped.returncode == 1 and "DDL not supported" in dropped.stderr
    missing = _cpg("query", "select * from nope", cwd=tmp_path)
    assert missing.returncode == 1 and "nope" in missing.stderr
    assert _cpg("query", "select count(*) from paid", cwd=tmp_path).returncode == 0
    nostore = _cpg("query", "select 1", "--store", "missing", cwd=tmp_path)
    assert nostore.returncode == 1 and "no store at missing" in nostore.stderr
    # a chain DataFusion's planner would overflow its stack on (SIGSEGV) is refused first
    deep = _cpg("query", "select " + "+".join(["1"] * 10_000) + " as x", cwd=tmp_path)
    assert deep.returncode == 1 and "levels deep" in deep.stderr, deep.stderr


@pytest.mark.parametrize("mode", ["serial", "parallel"])
def test_failing_view_exits_one_naming_it_and_keeps_upstream(tmp_path: Path, mode: str) -> None:
    views = {
        **VIEWS,
        # plans fine over empty tables, fails on the real rows ('new' is not an integer)
        "broken": "select p.order_id, cast(o.status as int) as s from paid p join orders o using (order_id)",
    }
    write_project(tmp_path, views)
    result = _cpg("build", "--mode", mode, cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "failing view: broken" in result.stderr
    # cpg's report only: no Hamilton node dump, traceback or chat invitation
    assert "Traceback" not in result.stderr, result.stderr
    assert "encountered an error" not in result.stderr
    assert "Need help with Hamilton" not in result.stderr
    assert "Cannot cast" in result.stderr or "cast" in result.stderr.lower()
    assert "kept in the store:" in result.stderr and "paid" in result.stderr
    again = _cpg("query", "select count(*) as n from paid", "--format", "json", cwd=tmp_path)
    assert json.loads(again.stdout) == {"n": 2}


def test_invalid_views_are_reported_and_the_rest_is_built(tmp_path: Path) -> None:
    write_project(tmp_path, {**VIEWS, "bad": "select nope from paid"})
    result = _cpg("build", cwd=tmp_path)
    assert result.returncode == 1
    assert "views/bad.sql:1:8: bad: [unknown_column] unknown column 'nope'" in result.stderr
    assert "1 view(s) not built" in result.stderr
    counted = _cpg(
        "query", "select count(*) as n from by_customer", "--format", "json", cwd=tmp_path
    )
    assert json.loads(counted.stdout) == {"n": 2}


def test_select_only_builds_the_closure(tmp_path: Path) -> None:
    write_project(tmp_path, {**VIEWS, "other": "select name from customers"})
    result = _cpg("build", "--select", "by_customer", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(o["name"] for o in json.loads(result.stdout)["outputs"]) == [
        "by_customer",
        "paid",
    ]


def test_bad_executor_flags_are_usage_errors(tmp_path: Path) -> None:
    write_project(tmp_path, VIEWS)
    result = _cpg("build", "--mode", "parallel", "--executor", "dask", cwd=tmp_path)
    assert result.returncode == 2
    assert "use mode='remote' for ray/dask" in result.stderr


def test_a_repository_that_is_not_there_stops_the_build_and_stores_nothing(
    tmp_path: Path,
) -> None:
    """A vanished repository must not build an empty CPG "successfully"."""
    store, repo = tmp_path / "store", tmp_path / "gone"
    (tmp_path / "cpg.toml").write_text(f'repo = "{repo.name}"\nstore = "store"\n', "utf-8")
    for args in (["build", str(repo), "--store", str(store)], ["build"]):
        result = _cpg(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        text = " ".join(result.stderr.split())
        assert f"cannot build: repository {repo} does not exist (moved or deleted?)" in text
    assert not (store / "tables").exists()


@pytest.mark.slow
def test_build_the_cpg_of_a_repository(tmp_path: Path) -> None:
    store = tmp_path / "store"
    result = _cpg("build", str(FIXTURE_REPO), "--store", str(store), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "cpg_nodes" in result.stderr
    nodes = _cpg(
        "query",
        "select count(*) as n from cpg_nodes",
        "--store",
        str(store),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert json.loads(nodes.stdout)["n"] > 100
    duplicates = _cpg(
        "query",
        "select count(*) as n from check_edge_endpoint_kinds",
        "--store",
        str(store),
        "--format",
        "json",
        cwd=tmp_path,
    )
    assert json.loads(duplicates.stdout) == {"n": 0}


def test_store_flag_compiles_against_that_store_and_cleans_dead_writers_temps(
    tmp_path: Path,
) -> None:
    cwd, store = tmp_path / "empty", tmp_path / "s"
    cwd.mkdir()
    result = _cpg("build", str(FIXTURE_REPO), "--store", str(store), cwd=cwd)
    assert result.returncode == 0, result.stderr
    assert (store / "_cpg" / "compile_cache.msgpack").is_file()  # cache and costs live there
    assert not (cwd / ".cpg").exists()  # nothing written where the command ran
    # a build killed while writing the generated module left its temp file (pid 999999: dead)
    (module,) = (store / "_cpg" / "modules").glob("cpg_plan_*.py")
    module.unlink()
    assert not Path("/proc/999999").exists()
    stale = module.with_name(f".{module.name}.999999.abc.tmp")
    stale.write_text("half a module")
    again = _cpg("build", str(FIXTURE_REPO), "--store", str(store), cwd=cwd)
    assert again.returncode == 0, again.stderr
    assert module.is_file() and not stale.exists()


TESTED_VIEWS = {
    "checked": (
        "-- @test accepted_values: status in ('new', 'paid')\n"
        "select order_id, customer_id, amount, status from orders\n"
    ),
    "after_checked": "select order_id from checked\n",
    "big": "-- @test expression: amount >= 5 ; severity: warn\nselect order_id, amount from orders\n",
    "after_big": "select order_id from big\n",
}


def test_build_prints_failing_tests_blocks_downstream_and_exits_one(tmp_path: Path) -> None:
    write_project(tmp_path, TESTED_VIEWS)
    built = _cpg("build", cwd=tmp_path)
    assert built.returncode == 1, built.stderr
    err = built.stderr
    assert "FAIL  checked.accepted_values_status [accepted_values, severity error]" in err
    assert '{"order_id":4,"customer_id":30,"amount":9.0,"status":"void"}' in err
    assert "WARN  big.expression [expression, severity warn]  views/big.sql:1" in err
    assert "⊘ after_checked: not run: data test(s) upstream did not pass: " in err
    assert "data tests: 2 test(s): 0 passed, 1 failed, 1 warned, 0 error(s)" in err
    assert "1 view(s) blocked, not built: after_checked" in err
    as_json = _cpg("build", "--json", cwd=tmp_path)  # again: every result from the cache
    assert as_json.returncode == 1
    manifest = json.loads(as_json.stdout)
    assert manifest["blocked"] == [
        {"view": "after_checked", "blocked_by": ["checked.accepted_values_status"]}
    ]
    assert manifest["data_tests"]["counts"]["cached"] == 2
    assert "FAIL  checked.accepted_values_status" in as_json.stderr  # still reported


def test_build_with_warnings_only_exits_zero_and_no_tests_runs_none(tmp_path: Path) -> None:
    write_project(tmp_path, {k: v for k, v in TESTED_VIEWS.items() if "checked" not in k})
    built = _cpg("build", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "WARN  big.expression" in built.stderr
    write_project(tmp_path, TESTED_VIEWS)
    untested = _cpg("build", "--no-tests", "--json", cwd=tmp_path)
    assert untested.returncode == 0, untested.stderr
    manifest = json.loads(untested.stdout)
    assert manifest["data_tests"] is None and manifest["blocked"] == []
    assert "after_checked" in [o["name"] for o in manifest["outputs"]]
