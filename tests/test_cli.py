"""The `cpg` command as a user runs it (a real subprocess, real files)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.plan.projects import write_project

CPG = [sys.executable, "-m", "cpg_core.cli"]


def _cpg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CPG, *args], cwd=cwd, capture_output=True, text=True, check=False)


def test_plan_text_exit_zero_when_valid(tmp_path: Path) -> None:
    write_project(tmp_path, {"a": "select order_id from orders", "b": "select order_id from a"})
    result = _cpg("plan", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "admitted: 2  problems: 0" in result.stdout
    assert "critical path" in result.stdout and "a -> b" in result.stdout


def test_plan_reports_every_problem_with_position_and_exits_one(tmp_path: Path) -> None:
    write_project(tmp_path, {"a": "select nope from orders", "b": "select 1 as x from custmers"})
    result = _cpg("plan", "--project", "cpg.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert "views/a.sql:1:8: a: [unknown_column] unknown column 'nope'" in result.stdout
    assert (
        "views/b.sql:1:20: b: [unknown_table] unknown table 'custmers' (did you mean 'customers'?)"
        in result.stdout
    )


def test_strict_plan_fails_on_stderr(tmp_path: Path) -> None:
    write_project(tmp_path, {"a": "select nope from orders"})
    result = _cpg("plan", "--strict", cwd=tmp_path)
    assert result.returncode == 1
    assert "strict compile failed: 1 problem(s)" in result.stderr


def test_plan_formats(tmp_path: Path) -> None:
    write_project(tmp_path, {"a": "select order_id from orders", "b": "select order_id from a"})
    as_json = json.loads(_cpg("plan", "--format", "json", cwd=tmp_path).stdout)
    assert as_json["schedule"]["artifact"]["ordered_tasks"] == ["a", "b"]
    assert as_json["validation"]["artifact"]["valid"] is True
    assert _cpg("plan", "--format", "dot", cwd=tmp_path).stdout.startswith("digraph {")
    mermaid = _cpg("plan", "--format", "mermaid", cwd=tmp_path).stdout
    assert "t_a --> t_b" in mermaid and "d_orders --> t_a" in mermaid
    node_link = json.loads(_cpg("plan", "--format", "node-link", cwd=tmp_path).stdout)
    assert {n["data"]["id"] for n in node_link["nodes"]} >= {"task:a", "task:b", "dataset:orders"}


def test_views_lists_dependencies_and_fingerprints(tmp_path: Path) -> None:
    write_project(tmp_path, {"a": "select order_id from orders", "b": "select order_id from a"})
    result = _cpg("views", cwd=tmp_path)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[1].startswith("a ") and lines[1].endswith("orders")
    assert lines[2].startswith("b ") and lines[2].endswith("a")
    assert lines[-1] == "2 views, 2 admitted (* = inline)"


def test_views_flag_and_bad_project_file(tmp_path: Path) -> None:
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "one.sql").write_text("select 1 as x")
    result = _cpg("plan", "--views", "v", "--no-cpg", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (tmp_path / "cpg.toml").write_text("views = 3\n")
    bad = _cpg("plan", cwd=tmp_path)
    assert bad.returncode == 2
    assert "cpg.toml: Expected `array`, got `int` - at `$.views`" in bad.stderr
