"""Shared helpers for the store tests: real stores in tmp dirs, real child processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cpg_core.store.delta_store import DeltaStore

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(tmp_path: Path) -> DeltaStore:
    return DeltaStore(tmp_path / "store", lock_timeout_s=10)


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")]))
    return env


def start_child(*args: str) -> subprocess.Popen[str]:
    """A real Python process running tests/store/_child.py (spawned, never forked mid-query)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store._child", *args],
        cwd=REPO,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def run_child(*args: str, timeout: float = 60) -> str:
    child = start_child(*args)
    out, _ = child.communicate(timeout=timeout)
    assert child.returncode == 0, f"child {args} exited {child.returncode}: {out}"
    return out.strip()
