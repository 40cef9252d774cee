"""Golden-file comparison: `CPG_UPDATE_GOLDENS=1 pytest` rewrites them (review the diff!)."""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN_DIR = Path(__file__).parent / "golden"


def check_golden(relative: str, actual: str) -> None:
    """Assert `actual` equals the golden file (or rewrite it when updating)."""
    path = GOLDEN_DIR / relative
    if os.environ.get("CPG_UPDATE_GOLDENS") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    assert path.exists(), f"missing golden {path}; run with CPG_UPDATE_GOLDENS=1"
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{relative} differs from its golden (CPG_UPDATE_GOLDENS=1 to accept)"
    )
