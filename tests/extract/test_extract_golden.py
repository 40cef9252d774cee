"""The fixture repository's evidence, row for row, against reviewed golden files.

Regenerate with ``CPG_UPDATE_GOLDENS=1 .venv/bin/pytest tests/extract`` and review the diff: the goldens
are the contract the CPG views are written against.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyarrow as pa
import pytest

from cpg_core.extract import TABLE_NAMES, extract_repo, scan_repo
from tests.extract.helpers import assert_integrity, assert_schemas, table_jsonl
from tests.golden import check_golden
from tests.paths import FIXTURE_REPO, copy_fixture_repo

# symtable and ast output differ between Python versions (e.g. comprehension scopes since 3.12).
pytestmark = pytest.mark.skipif(
    sys.version_info[:2] != (3, 11), reason="extraction goldens are recorded on Python 3.11"
)


@pytest.mark.parametrize("table", TABLE_NAMES)
def test_fixture_table_matches_golden(fixture_tables: dict[str, pa.Table], table: str) -> None:
    check_golden(f"extract/{table}.jsonl", table_jsonl(fixture_tables[table]))


def test_fixture_tables_are_well_formed(fixture_tables: dict[str, pa.Table]) -> None:
    assert_schemas(fixture_tables)
    assert_integrity(fixture_tables)


def test_fixture_scan_modules() -> None:
    scan = scan_repo(FIXTURE_REPO)
    got = {(f.path, f.module, f.source_root, f.is_package) for f in scan.files}
    assert got == {
        ("app/__init__.py", "app", "", True),
        ("app/broken.py", "app.broken", "", False),
        ("app/core.py", "app.core", "", False),
        ("app/models.py", "app.models", "", False),
        ("app/services/__init__.py", "app.services", "", True),
        ("app/services/runner.py", "app.services.runner", "", False),
        ("app/util/__init__.py", "app.util", "", True),
        ("app/util/counters.py", "app.util.counters", "", False),
        ("app/util/text.py", "app.util.text", "", False),
        ("scripts/run_app.py", "scripts.run_app", "", False),
        ("src/libpkg/__init__.py", "libpkg", "src", True),
        ("src/libpkg/helpers.py", "libpkg.helpers", "src", False),
    }


def test_walk_mode_equals_git_mode(tmp_path: Path, fixture_tables: dict[str, pa.Table]) -> None:
    """A copy outside any git work tree is walked, and yields the very same evidence."""
    copy = copy_fixture_repo(tmp_path / "fixture_repo")
    assert scan_repo(FIXTURE_REPO).mode == "git"
    assert scan_repo(copy).mode == "walk"
    walked = extract_repo(copy)
    for name in TABLE_NAMES:
        assert walked[name].equals(fixture_tables[name]), name
