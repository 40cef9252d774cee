"""The persistent compile cache: warm compiles reuse analysis, changes are seen, corruption is not trusted."""

from __future__ import annotations

from pathlib import Path

import pytest

from cpg_core.plan import analysis as analysis_module
from cpg_core.plan import compile_plan
from cpg_core.plan.sql_parse import ParsedView
from cpg_core.project import load_project
from cpg_core.views.model import ViewDef
from tests.plan.projects import write_project

_VIEWS = {
    "a": "select order_id, amount from orders",
    "b": "select order_id, amount * 2 as twice from a",
    "c": "select sum(twice) as total from b",
}


def _count_parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    parsed: list[str] = []
    real = analysis_module.parse_view

    def counting(view: ViewDef) -> ParsedView:
        parsed.append(view.name)
        return real(view)

    monkeypatch.setattr(analysis_module, "parse_view", counting)
    return parsed


def test_warm_compile_parses_nothing_and_gives_the_same_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = load_project(write_project(tmp_path, _VIEWS))
    cold = compile_plan(project)
    parsed = _count_parses(monkeypatch)
    warm = compile_plan(project)
    assert parsed == []
    assert warm.signature == cold.signature
    assert warm.schedule == cold.schedule
    assert {n: t.output_schema for n, t in warm.tasks.items()} == {
        n: t.output_schema for n, t in cold.tasks.items()
    }
    assert {n: dict(t.lineage) for n, t in warm.tasks.items()} == {
        n: dict(t.lineage) for n, t in cold.tasks.items()
    }


def test_changed_view_reanalyzes_it_and_readers_whose_input_schema_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    toml = write_project(tmp_path, _VIEWS)
    project = load_project(toml)
    compile_plan(project)
    parsed = _count_parses(monkeypatch)
    # Same output schema: only `a` is parsed again.
    (tmp_path / "views" / "a.sql").write_text(
        "select order_id, amount from orders where amount > 0"
    )
    compile_plan(project)
    assert parsed == ["a"]
    parsed.clear()
    # A changed output type of `b` reaches `c` (its input schema changed), not beyond.
    (tmp_path / "views" / "b.sql").write_text(
        "select order_id, cast(amount * 2 as bigint) as twice from a"
    )
    plan = compile_plan(project)
    assert sorted(parsed) == ["b", "c"]
    assert plan.valid


def test_cache_results_include_problems(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    views = {**_VIEWS, "bad": "select nope from orders", "worse": "select from where"}
    project = load_project(write_project(tmp_path, views))
    cold = compile_plan(project)
    parsed = _count_parses(monkeypatch)
    warm = compile_plan(project)
    assert parsed == []  # invalid views are cached too
    assert cold.problems == warm.problems
    assert [p.code.value for p in warm.problems] == ["unknown_column", "syntax_error"]


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01not msgpack", b"\x81\xa8versions\x90"])
def test_corrupt_cache_is_detected_and_rebuilt(tmp_path: Path, garbage: bytes) -> None:
    project = load_project(write_project(tmp_path, _VIEWS))
    reference = compile_plan(project, cache=False)
    project.compile_cache_path.parent.mkdir(parents=True, exist_ok=True)
    project.compile_cache_path.write_bytes(garbage)
    plan = compile_plan(project)
    assert plan.cache_note is not None and "compile cache" in plan.cache_note
    assert plan.signature == reference.signature
    again = compile_plan(project)
    assert again.cache_note is None  # the rebuilt cache is valid


def test_cache_from_other_tool_versions_is_not_trusted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cpg_core.plan import compile_cache

    project = load_project(write_project(tmp_path, _VIEWS))
    compile_plan(project)
    monkeypatch.setattr(compile_cache, "CACHE_FORMAT", 999)
    plan = compile_plan(project)
    assert plan.cache_note is not None and "other tool versions" in plan.cache_note


def test_temp_files_of_killed_saves_are_removed_by_the_next_save(tmp_path: Path) -> None:
    """A compile SIGKILLed while saving leaves a temp file next to the intact cache; the next
    save removes it (legacy temp names without a pid once they are a minute old)."""
    import os
    import subprocess
    import sys
    import time

    project = load_project(write_project(tmp_path, _VIEWS))
    compile_plan(project)
    directory = project.compile_cache_path.parent
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    dead = directory / f".compile_cache.msgpack.{gone.pid}.k1.tmp"
    legacy = directory / ".compile_cache.k1x2y3z4"
    for path in (dead, legacy):
        path.write_bytes(b"half a cache")
    os.utime(legacy, (time.time() - 120, time.time() - 120))
    (tmp_path / "views" / "d.sql").write_text("select total from c", encoding="utf-8")
    plan = compile_plan(project)  # a new view: the cache changed and is saved
    assert plan.cache_note is None and "d" in plan.tasks
    assert not dead.exists() and not legacy.exists()
    assert compile_plan(project).cache_note is None
