"""Incremental state: committed only by commit_run, atomically; damage is detected, not trusted."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from cpg_core.store.runs import DatasetState, commit_run, load_state, state_path
from tests.paths import REPO_ROOT, child_env

NODES = DatasetState(data_version="d1", fingerprint="f1", delta_version=0)
EDGES = DatasetState(data_version="d2", fingerprint="f2", delta_version=3)


def test_no_state_is_silent(tmp_path: Path) -> None:
    loaded = load_state(tmp_path)
    assert loaded.state is None and loaded.warning is None


def test_commit_and_merge(tmp_path: Path) -> None:
    commit_run(tmp_path, run_id="r1", plan_signature="s1", datasets={"nodes": NODES})
    newer = DatasetState(data_version="d3", fingerprint="f1", delta_version=1)
    commit_run(
        tmp_path, run_id="r2", plan_signature="s2", datasets={"edges": EDGES, "nodes": newer}
    )
    state = load_state(tmp_path).state
    assert state is not None
    assert (state.run_id, state.plan_signature) == ("r2", "s2")
    assert state.datasets == {"edges": EDGES, "nodes": newer}
    commit_run(tmp_path, run_id="r3", plan_signature="s3", datasets={"edges": EDGES}, replace=True)
    replaced = load_state(tmp_path).state
    assert replaced is not None and list(replaced.datasets) == ["edges"]
    assert [p.name for p in state_path(tmp_path).parent.iterdir()] == ["state.msgpack"]  # no temp


def test_damaged_state_is_detected_and_never_trusted(tmp_path: Path) -> None:
    commit_run(tmp_path, run_id="r1", plan_signature="s1", datasets={"nodes": NODES})
    path = state_path(tmp_path)
    good = path.read_bytes()
    damages = {
        "checksum": good[:-1] + bytes([good[-1] ^ 1]),  # one flipped bit
        "checksum ": good[: len(good) // 2],  # truncated
        "unknown format": b"",
        "unknown format ": b"{json: no}",
    }
    for expected, data in damages.items():
        path.write_bytes(data)
        loaded = load_state(tmp_path)
        assert loaded.state is None
        assert loaded.warning is not None and expected.strip() in loaded.warning


def test_body_that_does_not_decode_is_reported(tmp_path: Path) -> None:
    import hashlib

    from cpg_core.store.runs import MAGIC

    body = b"\x91\x01"  # valid msgpack, wrong shape
    state_path(tmp_path).parent.mkdir(parents=True)
    state_path(tmp_path).write_bytes(MAGIC + hashlib.sha256(body).digest() + body)
    loaded = load_state(tmp_path)
    assert (
        loaded.state is None and loaded.warning is not None and "does not decode" in loaded.warning
    )


def test_killed_run_leaves_the_previous_state(tmp_path: Path) -> None:
    """A process SIGKILLed while committing state over and over never leaves a damaged file."""
    commit_run(tmp_path, run_id="good", plan_signature="s", datasets={"nodes": NODES})
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from cpg_core.store.runs import DatasetState, commit_run
        big = {{f"t{{i}}": DatasetState(data_version="d" * 64, fingerprint="f", delta_version=i)
               for i in range(2000)}}
        print("ready", flush=True)
        i = 0
        while True:
            i += 1
            commit_run(Path({str(tmp_path)!r}), run_id=f"r{{i}}", plan_signature="s", datasets=big)
        """
    )
    for delay in (0.05, 0.2, 0.4):
        child = subprocess.Popen(
            [sys.executable, "-c", script], cwd=REPO_ROOT, env=child_env(), stdout=subprocess.PIPE
        )
        assert child.stdout is not None and child.stdout.readline().strip() == b"ready"
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        loaded = load_state(tmp_path)
        assert loaded.warning is None and loaded.state is not None
        assert loaded.state.run_id == "good" or len(loaded.state.datasets) == 2001
    commit_run(tmp_path, run_id="after", plan_signature="s", datasets={})
    assert not [p for p in state_path(tmp_path).parent.iterdir() if p.name.endswith(".tmp")]


def test_temp_files_of_dead_writers_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    """A writer SIGKILLed between its temp file and the rename leaves the temp file; the next
    write removes it, but never the temp file of a writer that is still alive."""
    import os

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)  # its pid now names no process
    directory = state_path(tmp_path).parent
    directory.mkdir(parents=True)
    dead = directory / f".state.msgpack.{gone.pid}.x1y2.tmp"
    legacy = directory / ".state.msgpack.abcd1234.tmp"  # written before temp names had a pid
    live = directory / f".state.msgpack.{os.getppid()}.x1y2.tmp"
    for path in (dead, legacy, live):
        path.write_bytes(b"half a state")
    commit_run(tmp_path, run_id="r1", plan_signature="s1", datasets={"nodes": NODES})
    assert sorted(p.name for p in directory.iterdir()) == sorted(["state.msgpack", live.name])


def test_durations_history_is_written_atomically_and_cleans_up(tmp_path: Path) -> None:
    import os

    from cpg_core.store.history import load_durations, record_durations

    record_durations(tmp_path, {"f": 1.0})
    directory = tmp_path / "_cpg"
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait(timeout=30)
    dead = directory / f".durations.msgpack.{gone.pid}.k1.tmp"
    legacy = directory / ".durations.k1x2y3z4"  # the temp name before it carried a pid
    for path in (dead, legacy):
        path.write_bytes(b"half a history")
    os.utime(legacy, (time.time() - 120, time.time() - 120))
    record_durations(tmp_path, {"f": 3.0, "g": 2.0})
    assert load_durations(tmp_path) == {"f": 3.0, "g": 2.0}
    assert [p.name for p in directory.iterdir()] == ["durations.msgpack"]
