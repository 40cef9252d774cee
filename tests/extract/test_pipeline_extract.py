"""The build pipeline's extraction stage: incremental state in the store, typed stage events."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from cpg_core.execute import versions
from cpg_core.pipeline import BuildEvent, StageFinish, StageProgress, StageStart, _extract
from tests.extract.incremental_helpers import assert_equals_cold


def test_extract_stage_is_incremental_and_reports_it(
    tmp_path: Path, fixture_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = fixture_copy
    store = tmp_path / "store"
    events: list[BuildEvent] = []
    tables, summary = _extract(repo, store, 1, events.append)
    assert (store / "_cpg" / "extract" / "manifest.msgpack").is_file()
    assert (summary.files, len(summary.extracted), summary.reused) == (12, 12, 0)
    assert events[0] == StageStart(stage="extract", total=1)
    assert events[1] == StageProgress(stage="extract", done=1, total=1, detail="unit-00000")
    assert isinstance(events[-1], StageFinish)
    assert events[-1].detail == "12 files, 12 extracted, 0 reused, 1 in extract_errors"

    (repo / "app" / "core.py").write_text("VALUE = 1\n", encoding="utf-8")
    events.clear()
    tables, summary = _extract(repo, store, 1, events.append)
    assert summary.extracted == ("app/core.py",) and summary.reused == 11
    assert isinstance(events[-1], StageFinish)
    assert events[-1].detail == "12 files, 1 extracted, 11 reused, 1 in extract_errors"

    # The tables' data versions are remembered: the build never sorts and hashes them again.
    def no_hashing(table: pa.Table) -> str:
        raise AssertionError("evidence table hashed again")

    monkeypatch.setattr(versions, "content_hash", no_hashing)
    from cpg_core.extract.incremental import extract_incremental

    expected = extract_incremental(repo, state_dir=store / "_cpg" / "extract")
    assert {n: versions.data_version(t) for n, t in tables.items()} == expected.data_versions
    assert_equals_cold(expected, repo)

    events.clear()
    _extract(repo, store, 1, events.append)
    assert events[0] == StageStart(stage="extract", total=0)
    assert isinstance(events[-1], StageFinish)
    assert events[-1].detail == "12 files, 0 extracted, 12 reused, 1 in extract_errors"
