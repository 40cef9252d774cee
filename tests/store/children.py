"""Start `tests/store/_child.py` as a real Python process (spawned, never forked mid-query)."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import REPO_ROOT, child_env


def start_child(*args: str) -> subprocess.Popen[str]:
    """A real Python process running tests/store/_child.py with these arguments."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.store._child", *args],
        cwd=REPO_ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def run_child(*args: str, timeout: float = 60) -> str:
    """Run the child to its end; its stdout, stripped (fails the test on a non-zero exit)."""
    child = start_child(*args)
    out, _ = child.communicate(timeout=timeout)
    assert child.returncode == 0, f"child {args} exited {child.returncode}: {out}"
    return out.strip()
