"""A disk that fills up during a build: the run fails naming the table, nothing is half-written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from cpg_core.execute import build
from cpg_core.store.content_hash import content_hash
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.runs import load_state
from tests.execute._disk_full_child import VIEWS_BIG_PAID
from tests.execute.helpers import VIEWS, compile_project, direct_hashes, hashes, read_inputs
from tests.paths import REPO_ROOT

ROWS = 1_000_000
LIMIT = 4 * 1024 * 1024  # bytes per file: the cache database and small views fit, `paid` does not


def test_full_disk_fails_the_build_by_name_and_keeps_previous_versions(tmp_path: Path) -> None:
    store = tmp_path / "s"
    plan = compile_project(tmp_path, VIEWS_BIG_PAID)
    small = read_inputs(tmp_path)
    build(plan, store=store, inputs=small)
    delta = DeltaStore(store)
    previous = {v: (i.version, i.data_version) for v in VIEWS if (i := delta.info(v))}
    state_before = load_state(store).state

    child = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.execute._disk_full_child",
            str(tmp_path),
            str(store),
            str(ROWS),
            str(LIMIT),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    first, message = child.stdout.splitlines()[:2]
    assert first.startswith("failed view=paid "), child.stdout
    assert "writing table 'paid' failed" in message and "File too large" in message, message
    assert "incremental state not committed" in message

    for view, (version, data_version) in previous.items():
        latest = delta.info(view)
        assert latest is not None
        assert content_hash(delta.read(view)) == latest.data_version  # never half-written
        if view == "paid":
            assert latest.version == version and latest.data_version == data_version
    assert load_state(store).state == state_before  # the failed run recorded nothing

    # the disk has room again: the next build completes and equals the reference executor
    result = build(plan, store=store, inputs=small)
    assert hashes(result.tables) == direct_hashes(plan, small)
