"""Same repository -> same IDs and table contents: across runs, serial vs parallel, hash seeds."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pyarrow as pa
import pyarrow.ipc as ipc

from cpg_core.extract import TABLE_NAMES, extract_repo, extract_unit, merge_evidence, scan_repo
from tests.extract.helpers import assert_integrity, assert_schemas
from tests.paths import FIXTURE_REPO

STDLIB_EMAIL = Path(sysconfig.get_paths()["stdlib"]) / "email"
REPOS = (FIXTURE_REPO, STDLIB_EMAIL)

_DUMP = """
import sys
import pyarrow.ipc as ipc
from cpg_core.extract import extract_repo
out = sys.argv[1]
for i, root in enumerate(sys.argv[2:]):
    for name, table in extract_repo(root).items():
        with ipc.new_file(f"{out}/{i}-{name}.arrow", table.schema) as w:
            w.write_table(table)
"""


def _assert_same(a: dict[str, pa.Table], b: dict[str, pa.Table]) -> None:
    assert list(a) == list(b) == list(TABLE_NAMES)
    for name in TABLE_NAMES:
        assert a[name].equals(b[name]), name


def test_two_runs_identical() -> None:
    for root in REPOS:
        _assert_same(extract_repo(root), extract_repo(root))


def test_serial_equals_parallel() -> None:
    for root in REPOS:
        serial = extract_repo(root)
        assert_schemas(serial)
        assert_integrity(serial)
        _assert_same(serial, extract_repo(root, workers=2, unit_bytes=16 * 1024))


def test_merge_ignores_batch_order() -> None:
    units = scan_repo(STDLIB_EMAIL, unit_bytes=32 * 1024).units
    assert len(units) > 3
    batches = [extract_unit(u) for u in units]
    _assert_same(merge_evidence(batches), merge_evidence(list(reversed(batches))))


def test_merge_of_overlapping_batches_sorts_by_path() -> None:
    """Batches that are not contiguous path ranges still merge into path order."""
    units = scan_repo(FIXTURE_REPO, unit_bytes=1).units
    batches = [extract_unit(u) for u in units]
    odd_even = [merge_evidence(batches[0::2]), merge_evidence(batches[1::2])]
    _assert_same(merge_evidence(batches), merge_evidence(odd_even))


def test_hash_seed_does_not_matter(tmp_path: Path) -> None:
    here = {i: extract_repo(root) for i, root in enumerate(REPOS)}
    for seed in ("0", "12345"):
        out = tmp_path / seed
        out.mkdir()
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run(
            [sys.executable, "-c", _DUMP, str(out), *map(str, REPOS)], check=True, env=env
        )
        for i in here:
            other = {
                name: ipc.open_file(out / f"{i}-{name}.arrow").read_all() for name in TABLE_NAMES
            }
            _assert_same(here[i], other)
