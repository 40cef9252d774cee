"""How a build extracts: with every core, whatever the views' execution mode."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from cpg_core.extract import hamilton_exec, incremental
from cpg_core.pipeline import build_project
from cpg_core.project import Project
from cpg_core.settings import SERIAL
from tests.paths import FIXTURE_REPO


def test_default_workers_is_one_per_usable_core_up_to_four() -> None:
    cores = len(os.sched_getaffinity(0))
    assert hamilton_exec.default_workers() == max(1, min(cores, 4))


def test_a_serial_build_extracts_with_the_default_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Views run one at a time by default, but extraction runs before any view: it used to
    inherit the views' concurrency (one worker), which made `cpg build` of the stdlib ~10 s
    slower than the same build with a worker per core."""
    seen: list[int] = []
    real = incremental.extract_incremental

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs["workers"])
        return real(*args, **kwargs)

    monkeypatch.setattr(hamilton_exec, "default_workers", lambda: 3)
    monkeypatch.setattr(incremental, "extract_incremental", spy)
    project = Project.from_views([], include_cpg=True, repo=FIXTURE_REPO, store=tmp_path / "s")
    build_project(project, config=SERIAL, select=["idx_modules"])
    assert seen == [3]
    build_project(project, config=SERIAL, select=["idx_modules"], extract_workers=1)
    assert seen == [3, 1]
