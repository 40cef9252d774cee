"""`build_project` takes the store lock before extracting: a busy store costs no extraction."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from cpg_core.pipeline import BuildEvent, StageStart, build_project
from cpg_core.project import Project
from cpg_core.store.errors import StoreBusyError
from cpg_core.store.events import InputStored, RunStart
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
        assert stages == ["compile"]  # compiled, then refused: nothing extracted, nothing built
        assert not (store / "tables").exists()
    finally:
        holder.communicate("", timeout=30)


def test_the_run_starts_before_its_evidence_is_reported(tmp_path: Path) -> None:
    """Dagster names cpg's run on every materialization from `RunStart`: the evidence tables,
    stored first, must not be reported before it."""
    events: list[BuildEvent] = []
    project = Project.from_views([], include_cpg=True, repo=FIXTURE_REPO, store=tmp_path / "s")
    build_project(project, on_event=events.append)
    kinds = [type(event) for event in events]
    assert InputStored in kinds
    assert kinds.index(RunStart) < kinds.index(InputStored)
