"""SIGKILL mid-build: every table stays readable at its previous version; the next build works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cpg_core.execute import build
from cpg_core.store.content_hash import content_hash
from cpg_core.store.delta_store import DeltaStore
from tests.execute.helpers import (
    VIEWS,
    big_orders,
    compile_project,
    direct_hashes,
    hashes,
    read_inputs,
)
from tests.paths import REPO_ROOT

ROWS = 400_000


def _commits(store: Path) -> int:
    return sum(len(list((store / "tables" / v / "_delta_log").glob("*.json"))) for v in VIEWS)


def test_sigkill_mid_build_keeps_previous_versions(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path)
    small = read_inputs(tmp_path)
    build(plan, store=store, inputs=small)
    delta = DeltaStore(store)
    previous = {v: (info.version, info.data_version) for v in VIEWS if (info := delta.info(v))}
    baseline = _commits(store)

    child = subprocess.Popen(
        [sys.executable, "-m", "tests.execute._kill_child", str(tmp_path), str(store), str(ROWS)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while _commits(store) == baseline and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL  # killed, not finished
    assert _commits(store) > baseline  # ... after it had committed something: mid-run

    for view, (version, data_version) in previous.items():
        old = delta.read(view, version)
        assert content_hash(old) == data_version  # the previous version is intact
        latest = delta.info(view)
        assert latest is not None
        assert content_hash(delta.read(view)) == latest.data_version  # latest is complete

    big = {**small, "orders": big_orders(ROWS)}
    result = build(plan, store=store, inputs=big)  # lock released by the kernel; build completes
    assert hashes(result.tables) == direct_hashes(plan, big)
