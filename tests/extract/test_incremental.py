"""Incremental extraction: reuse per file key, exact equality with cold runs, untrusted state."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pytest

from cpg_core.extract import EVIDENCE_SCHEMAS, TABLE_NAMES, hamilton_exec
from cpg_core.extract import extract_state as state_module
from cpg_core.extract.extract_state import MANIFEST, Manifest, read_manifest
from cpg_core.extract.incremental import IncrementalExtract, extract_incremental
from cpg_core.extract.progress import ExtractProgress
from tests.extract.incremental_helpers import assert_equals_cold, assert_same_rows, cold
from tests.paths import REPO_ROOT, child_env


def _run(repo: Path, state: Path, **kwargs: Any) -> IncrementalExtract:
    return extract_incremental(repo, state_dir=state, **kwargs)


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _table_file(state: Path, name: str) -> Path:
    manifest = read_manifest(state)
    assert manifest is not None
    return state / manifest.tables[name].file


def _rewrite_manifest(state: Path, manifest: Manifest) -> None:
    """Write `manifest` with a valid checksum (simulates a consistent but different state)."""
    body = msgspec.msgpack.encode(manifest)
    envelope = [state_module.STATE_FORMAT, hashlib.sha256(body).hexdigest(), body]
    (state / MANIFEST).write_bytes(msgspec.msgpack.encode(envelope))


@pytest.fixture
def repo(fixture_copy: Path) -> Path:
    return fixture_copy


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "store" / "_cpg" / "extract"


def test_every_evidence_table_has_a_path_column() -> None:
    """Dropping a changed file's rows filters on `path`: every table must have it, non-null."""
    for name, schema in EVIDENCE_SCHEMAS.items():
        field = schema.field("path")
        assert field.type == pa.string() and not field.nullable, name


def test_first_run_extracts_everything(repo: Path, state: Path) -> None:
    result = _run(repo, state)
    assert result.extracted == tuple(sorted(result.extracted))
    assert len(result.extracted) == result.files == 12
    assert (result.reused, result.removed, result.note) == (0, (), None)
    assert_equals_cold(result, repo)
    assert (state / MANIFEST).is_file()


def test_no_change_run_extracts_and_writes_nothing(repo: Path, state: Path) -> None:
    first = _run(repo, state)
    before = {p.name: p.stat().st_mtime_ns for p in state.iterdir()}
    updates: list[ExtractProgress] = []
    second = _run(repo, state, progress=updates.append)
    assert (second.extracted, second.removed, second.reused) == ((), (), 12)
    assert second.note is None
    assert second.data_versions == first.data_versions
    for name in TABLE_NAMES:
        assert second.tables[name].equals(first.tables[name]), name
    assert {p.name: p.stat().st_mtime_ns for p in state.iterdir()} == before
    assert updates == [ExtractProgress(done=0, total=0)]
    assert_equals_cold(second, repo)


def test_editing_one_file_reextracts_only_it(repo: Path, state: Path) -> None:
    _run(repo, state)
    _append(repo / "app" / "core.py", "\n\ndef added(x):\n    return helper(x) + 1\n")
    updates: list[ExtractProgress] = []
    result = _run(repo, state, progress=updates.append)
    assert result.extracted == ("app/core.py",)
    assert (result.reused, result.removed, result.note) == (11, (), None)
    assert updates == [
        ExtractProgress(done=0, total=1),
        ExtractProgress(done=1, total=1, unit="unit-00000", files=1),
    ]
    assert_equals_cold(result, repo)
    again = _run(repo, state)
    assert again.extracted == () and again.data_versions == result.data_versions


def test_an_edit_that_leaves_some_tables_alone(repo: Path, state: Path) -> None:
    """Tables without rows of the edited file keep their stored version (and stay correct)."""
    first = _run(repo, state)
    _append(repo / "app" / "models.py", "\n# a comment changes only the files row\n")
    result = _run(repo, state)
    assert result.extracted == ("app/models.py",)
    assert result.data_versions["extract_errors"] == first.data_versions["extract_errors"]
    assert result.data_versions["files"] != first.data_versions["files"]
    assert_equals_cold(result, repo)


def test_adding_and_removing_files(repo: Path, state: Path) -> None:
    _run(repo, state)
    (repo / "app" / "extra.py").write_text("from .core import *\nVALUE = 1\n", encoding="utf-8")
    added = _run(repo, state)
    assert (added.extracted, added.removed, added.reused) == (("app/extra.py",), (), 12)
    assert_equals_cold(added, repo)
    (repo / "app" / "models.py").unlink()
    (repo / "app" / "extra.py").unlink()
    removed = _run(repo, state)
    assert removed.extracted == ()
    assert removed.removed == ("app/extra.py", "app/models.py")
    assert removed.files == removed.reused == 11
    assert_equals_cold(removed, repo)


def test_new_init_renames_modules_and_reextracts_them(repo: Path, state: Path) -> None:
    """A file's module name (and its relative imports) depend on *other* files: __init__.py."""
    first = _run(repo, state)
    modules = dict(
        zip(*(first.tables["files"].column(c).to_pylist() for c in ("path", "module")), strict=True)
    )
    assert modules["src/libpkg/helpers.py"] == "libpkg.helpers"
    (repo / "src" / "__init__.py").write_text(
        "", encoding="utf-8"
    )  # `src` stops being a src layout
    result = _run(repo, state)
    assert result.extracted == (
        "src/__init__.py",
        "src/libpkg/__init__.py",
        "src/libpkg/helpers.py",
    )
    files = result.tables["files"].to_pylist()
    assert {r["path"]: r["module"] for r in files}["src/libpkg/helpers.py"] == "src.libpkg.helpers"
    assert_equals_cold(result, repo)


def test_many_changes_run_in_parallel_workers(repo: Path, state: Path) -> None:
    _run(repo, state)
    for path in sorted(repo.rglob("*.py"))[::2]:
        _append(path, "\n# touched\n")
    updates: list[ExtractProgress] = []
    result = _run(repo, state, workers=2, unit_bytes=1_500, progress=updates.append)
    assert len(result.extracted) == 6
    assert updates[0].done == 0 and updates[0].total > 1
    assert updates[-1].done == updates[-1].total
    assert_equals_cold(result, repo)


def test_a_change_that_fits_one_unit_is_extracted_in_process(
    repo: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No worker process is started for one edited file: starting one costs more than it."""
    _run(repo, state)
    drivers: list[int] = []
    real = hamilton_exec.extraction_driver

    def spy(workers: int = 1, progress: Any = None) -> Any:
        drivers.append(workers)
        return real(workers, progress)

    monkeypatch.setattr(hamilton_exec, "extraction_driver", spy)
    _append(sorted(repo.rglob("*.py"))[0], "\n# touched\n")
    result = _run(repo, state, workers=2)
    assert len(result.extracted) == 1 and drivers == [1]
    assert_equals_cold(result, repo)
    for path in sorted(repo.rglob("*.py"))[::2]:  # more than a unit's bytes: the workers
        _append(path, "\n# touched again\n")
    assert len(_run(repo, state, workers=2, unit_bytes=1_500).extracted) == 6
    assert drivers[-1] == 2


def test_unreadable_or_oversized_files_are_never_reused(repo: Path, state: Path) -> None:
    (repo / "app" / "dangling.py").symlink_to(repo / "nowhere.py")
    first = _run(repo, state, max_file_bytes=800)
    again = _run(repo, state, max_file_bytes=800)
    oversized = tuple(
        sorted(r["path"] for r in first.tables["files"].to_pylist() if r["sha256"] is None)
    )
    assert "app/dangling.py" in oversized and "app/core.py" in oversized
    assert again.extracted == oversized
    assert_same_rows(again, *cold(repo, max_file_bytes=800))


def test_options_are_part_of_the_key(repo: Path, state: Path) -> None:
    _run(repo, state)
    result = _run(repo, state, check_compile=True)
    assert len(result.extracted) == result.files
    assert_equals_cold(result, repo)  # the fixture has no compile-only errors


# --------------------------------------------------------------------------- untrusted state


def _assert_rebuilt(result: IncrementalExtract, repo: Path, why: str) -> None:
    assert result.note is not None and why in result.note, result.note
    assert "rebuilt" in result.note or "re-extracted everything" in result.note
    assert len(result.extracted) == result.files and result.reused == 0
    assert_equals_cold(result, repo)


def _assert_clean_after(repo: Path, state: Path) -> None:
    after = _run(repo, state)
    assert after.note is None and after.extracted == ()


def test_garbage_manifest(repo: Path, state: Path) -> None:
    _run(repo, state)
    (state / MANIFEST).write_bytes(b"\x00not msgpack at all")
    _assert_rebuilt(_run(repo, state), repo, "corrupt")
    _assert_clean_after(repo, state)


def test_manifest_checksum_mismatch(repo: Path, state: Path) -> None:
    _run(repo, state)
    raw = bytearray((state / MANIFEST).read_bytes())
    raw[-5] ^= 0x01  # inside the body: still decodes, checksum no longer matches
    (state / MANIFEST).write_bytes(bytes(raw))
    _assert_rebuilt(_run(repo, state), repo, "checksum")
    _assert_clean_after(repo, state)


def test_deleted_table_file(repo: Path, state: Path) -> None:
    _run(repo, state)
    _table_file(state, "refs").unlink()
    _assert_rebuilt(_run(repo, state), repo, "missing")
    _assert_clean_after(repo, state)


def test_truncated_table_file(repo: Path, state: Path) -> None:
    _run(repo, state)
    path = _table_file(state, "defs")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    _assert_rebuilt(_run(repo, state), repo, "corrupt")
    _assert_clean_after(repo, state)


def _flip_a_value_byte(path: Path, needle: bytes) -> None:
    """Change one byte of a string value in place, keeping the file's size."""
    data = bytearray(path.read_bytes())
    at = data.index(needle)
    data[at] = ord("X")
    with path.open("r+b") as handle:
        handle.write(bytes(data))


def test_same_size_corruption_found_by_content_check(repo: Path, state: Path) -> None:
    _run(repo, state)
    _flip_a_value_byte(_table_file(state, "files"), b"app/core.py")
    _assert_rebuilt(_run(repo, state, verify_content=True), repo, "data version")


def test_same_size_corruption_found_after_the_file_was_touched(repo: Path, state: Path) -> None:
    """Without `verify_content`, a file whose stat changed since it was written is re-hashed."""
    _run(repo, state)
    time.sleep(0.05)  # beyond the file system's timestamp granularity
    _flip_a_value_byte(_table_file(state, "files"), b"app/core.py")
    _assert_rebuilt(_run(repo, state), repo, "data version")


def test_a_copied_state_is_verified_and_reused(repo: Path, state: Path, tmp_path: Path) -> None:
    """A different inode (a copied or restored store) means re-hashing, not re-extracting."""
    _run(repo, state)
    copy = tmp_path / "copied"
    copy.mkdir()
    for path in state.iterdir():
        (copy / path.name).write_bytes(path.read_bytes())
    result = _run(repo, copy)
    assert result.note is None and result.extracted == ()


def test_wrong_schema(repo: Path, state: Path) -> None:
    _run(repo, state)
    manifest = read_manifest(state)
    assert manifest is not None
    entry = manifest.tables["imports"]
    path = state / entry.file
    table = pa.table({"path": pa.array(["x"]), "other": pa.array([1])})
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)
    st = path.stat()
    stat = (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    tables = {**manifest.tables, "imports": msgspec.structs.replace(entry, stat=stat, rows=1)}
    _rewrite_manifest(state, msgspec.structs.replace(manifest, tables=tables))
    _assert_rebuilt(_run(repo, state), repo, "schema")


def test_other_extractor_version(repo: Path, state: Path) -> None:
    _run(repo, state)
    manifest = read_manifest(state)
    assert manifest is not None
    _rewrite_manifest(state, msgspec.structs.replace(manifest, extractor="an older extractor"))
    _assert_rebuilt(_run(repo, state), repo, "extractor changed")
    _assert_clean_after(repo, state)


def test_other_canonical_version_rehashes_without_extracting(repo: Path, state: Path) -> None:
    _run(repo, state)
    manifest = read_manifest(state)
    assert manifest is not None
    _rewrite_manifest(state, msgspec.structs.replace(manifest, canonical="an older content hash"))
    result = _run(repo, state)
    assert result.extracted == () and result.note is None
    assert_equals_cold(result, repo)
    _assert_clean_after(repo, state)


# --------------------------------------------------------------------------- failing runs


def test_failure_during_extraction_leaves_the_state_alone(
    repo: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(repo, state)
    before = {p.name: p.read_bytes() for p in state.iterdir()}
    _append(repo / "app" / "core.py", "\nBROKEN_LATER = 1\n")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("extraction failed")

    monkeypatch.setattr(hamilton_exec, "hamilton_extract_files", boom)
    with pytest.raises(RuntimeError, match="extraction failed"):
        _run(repo, state)
    assert {p.name: p.read_bytes() for p in state.iterdir()} == before
    monkeypatch.undo()
    result = _run(repo, state)
    assert result.note is None and result.extracted == ("app/core.py",)
    assert_equals_cold(result, repo)


def test_failure_while_writing_the_manifest_keeps_the_previous_state(
    repo: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(repo, state)
    manifest_before = (state / MANIFEST).read_bytes()
    _append(repo / "app" / "util" / "text.py", "\nLATE = 2\n")

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(state_module, "_write_atomic", disk_full)
    with pytest.raises(OSError, match="No space"):
        _run(repo, state)
    assert (state / MANIFEST).read_bytes() == manifest_before
    monkeypatch.undo()
    result = _run(repo, state)
    assert result.note is None and result.extracted == ("app/util/text.py",)
    assert_equals_cold(result, repo)


_KILLED_RUN = """
import os, signal, sys
from pathlib import Path
from cpg_core.extract import extract_state
from cpg_core.extract.incremental import extract_incremental

real = extract_state._write_table
calls = []

def dying(*args, **kwargs):
    calls.append(1)
    if len(calls) == int(sys.argv[3]):
        os.kill(os.getpid(), signal.SIGKILL)  # dies with some tables written, no manifest
    return real(*args, **kwargs)

extract_state._write_table = dying
extract_incremental(Path(sys.argv[1]), state_dir=Path(sys.argv[2]))
"""


@pytest.mark.parametrize("die_at_table", [1, 4])
def test_process_killed_mid_write_keeps_the_previous_state(
    repo: Path, state: Path, die_at_table: int
) -> None:
    _run(repo, state)
    manifest_before = (state / MANIFEST).read_bytes()
    _append(repo / "app" / "core.py", "\n\nclass Late:\n    pass\n")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent(_KILLED_RUN),
            str(repo),
            str(state),
            str(die_at_table),
        ],
        cwd=REPO_ROOT,
        env=child_env(),
        capture_output=True,
        check=False,
    )
    assert done.returncode == -signal.SIGKILL, done.stderr.decode()
    assert (state / MANIFEST).read_bytes() == manifest_before
    result = _run(repo, state)
    assert result.note is None and result.extracted == ("app/core.py",)
    assert_equals_cold(result, repo)
    manifest = read_manifest(state)
    assert manifest is not None
    named = {MANIFEST, state_module.LOCK, *(t.file for t in manifest.tables.values())}
    assert {p.name for p in state.iterdir()} == named  # the dead run's files are gone
