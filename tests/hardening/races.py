"""Two `cpg build` processes on one store: start them, read how each ended, check the store.

Shared by the race tests (`test_concurrency.py`) and the long stress script
(`python -m tests.hardening.concurrency_stress`).
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cpg_core.pipeline import BuildEvent, build_project
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.events import InputStored
from cpg_core.store.partitions import table_version

CPG = Path(sys.executable).with_name("cpg")
CHILD = [sys.executable, "-m", "tests.hardening._concurrency_child"]
BUSY_MESSAGES = ("store is busy", "store conflict")
EXTRA_MODULE = (
    "class Added:\n    def run(self):\n        return helper()\n\ndef helper():\n    return 1\n"
)


@dataclass(frozen=True)
class Outcome:
    """How one `cpg build --json` process ended."""

    returncode: int
    manifest: dict[str, Any] | None
    stderr: str

    @property
    def executed(self) -> list[str]:
        assert self.manifest is not None
        return list(self.manifest["executed"])

    @property
    def written(self) -> list[str]:
        assert self.manifest is not None
        return [o["name"] for o in self.manifest["outputs"] if o["written"]]


def start_build(
    repo: Path, store: Path, cwd: Path, env: Mapping[str, str] | None = None
) -> subprocess.Popen[str]:
    """`cpg build REPO --store STORE --json`, run from `cwd` (which holds its compile cache)."""
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(CPG), "build", str(repo), "--store", str(store), "--json"],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen[str], timeout_s: float = 300) -> Outcome:
    out, err = process.communicate(timeout=timeout_s)
    manifest = json.loads(out) if process.returncode == 0 else None
    return Outcome(process.returncode, manifest, err)


def assert_ended_well(outcomes: Sequence[Outcome]) -> None:
    """Each build succeeded or failed (exit 2) saying the store was busy; one succeeded."""
    for outcome in outcomes:
        if outcome.returncode != 0:
            assert outcome.returncode == 2, outcome.stderr[-3000:]
            assert any(m in outcome.stderr for m in BUSY_MESSAGES), outcome.stderr[-3000:]
    assert any(o.returncode == 0 for o in outcomes), [o.stderr[-1000:] for o in outcomes]


def store_contents(root: Path) -> dict[str, str]:
    """Every table, at every version, readable with the data version its log records.

    Returns each table's latest data version. Fails on an unreadable table, a version whose
    rows do not hash to the recorded data version (a mixed or torn table), or a missing log.
    """
    store = DeltaStore(root)
    latest: dict[str, str] = {}
    for name in store.names():
        for stored in store.versions(name):
            rows = store.read(name, stored.version)
            recorded = table_version(rows, stored.partition_by)  # a map's, or the content's
            assert stored.data_version == recorded, (name, stored.version)
            assert stored.rows == rows.num_rows, (name, stored.version)
        info = store.info(name)
        assert info is not None and info.data_version is not None
        latest[name] = info.data_version
    assert latest, f"no tables in {root}"
    return latest


def project_for(repo: Path, store: Path) -> Project:
    return dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)


def build_in_process(repo: Path, store: Path) -> tuple[list[str], list[str], list[str]]:
    """One build in this process: (views executed, outputs written, evidence written)."""
    events: list[BuildEvent] = []
    run = build_project(project_for(repo, store), repo=repo, store=store, on_event=events.append)
    manifest = run.result.manifest
    stored = [e.task for e in events if isinstance(e, InputStored) and e.written]
    return list(manifest.executed), [o.name for o in manifest.outputs if o.written], stored


def assert_settled(store: Path, repo: Path, clean: Mapping[str, str]) -> None:
    """Consistent now; the next build is a no-op; the tables equal a clean build's."""
    assert store_contents(store) == clean
    assert build_in_process(repo, store) == ([], [], [])
    assert store_contents(store) == clean
