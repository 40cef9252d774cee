"""`build_project` takes the store lock before compiling and extracting: a busy store costs
neither; a whole-CPG build compiles on a thread while it extracts."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

import cpg_core.pipeline
from cpg_core.pipeline import BuildEvent, StageFinish, StageStart, build_project
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project
from cpg_core.store.errors import StoreBusyError
from tests.paths import FIXTURE_REPO, REPO_ROOT


def test_a_busy_store_fails_before_extraction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = tmp_path / "store"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.hardening._concurrency_child",
            "hold",
            str(store / ".lock"),
            "another build",
        ],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        monkeypatch.setenv("CPG_STORE_LOCK_TIMEOUT", "0")
        stages: list[str] = []

        def on_event(event: BuildEvent) -> None:
            if isinstance(event, StageStart):
                stages.append(event.stage)

        project = Project.from_views([], include_cpg=True, repo=FIXTURE_REPO, store=store)
        with pytest.raises(StoreBusyError, match="another build"):
            build_project(project, on_event=on_event)
        assert stages == []  # refused at once: nothing compiled, extracted or built
        assert not (store / "tables").exists()
    finally:
        holder.communicate("", timeout=30)


def test_the_whole_cpg_compiles_while_it_extracts(tmp_path: Path) -> None:
    threads: dict[tuple[str, str], str] = {}

    def on_event(event: BuildEvent) -> None:
        if isinstance(event, StageStart | StageFinish):
            threads[(type(event).__name__, event.stage)] = threading.current_thread().name

    project = Project.from_views([], include_cpg=True, repo=FIXTURE_REPO, store=tmp_path / "s")
    run = build_project(project, on_event=on_event)
    assert "cpg_edges" in run.result.manifest.executed and run.extract is not None
    compile_thread = threads[("StageStart", "compile")]
    assert compile_thread.startswith("cpg-compile")
    assert threads[("StageFinish", "compile")] == compile_thread
    assert threads[("StageStart", "extract")] == threading.current_thread().name


def test_a_compile_error_surfaces_after_the_extraction_it_overlapped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(project: Project, *, cache: bool = True) -> ExecutionPlan:
        raise RuntimeError("the compiler broke")

    monkeypatch.setattr(cpg_core.pipeline, "compile_project", broken)
    store = tmp_path / "s"
    project = Project.from_views([], include_cpg=True, repo=FIXTURE_REPO, store=store)
    with pytest.raises(RuntimeError, match="the compiler broke"):
        build_project(project)
    assert (store / "_cpg" / "extract").is_dir()  # the evidence is saved, reused next time
    assert not (store / "tables").exists()  # nothing built
