"""Hypothesis: after any sequence of edits, incremental extraction equals a cold extraction."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.extract import scan_repo
from cpg_core.extract.incremental import extract_incremental
from tests.extract.incremental_helpers import assert_equals_cold

# Paths whose module names depend on each other: pkg/__init__.py and pkg/sub/__init__.py decide
# whether the files below them are package modules (and what their relative imports resolve to).
PATHS = (
    "pkg/__init__.py",
    "pkg/a.py",
    "pkg/sub/__init__.py",
    "pkg/sub/b.py",
    "tool.py",
    "src/lib/c.py",
)
SOURCES = (
    "",
    "import os\n\ndef f(x):\n    return os.path.join(x, 'y')\n",
    "from . import a\nfrom .. import b as bee\n\nclass C(a.Base):\n    def m(self):\n        return bee\n",
    "from .sub.b import thing\nVALUE = [i * 2 for i in range(3)]\n",
    "def broken(:\n    pass\n",
    "x = 1\n" * 3,
    "\ufeffname = 'caf\u00e9'\nlambda q: q\n",
)

_edit = st.tuples(st.sampled_from(PATHS), st.none() | st.sampled_from(SOURCES))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    initial=st.dictionaries(st.sampled_from(PATHS), st.sampled_from(SOURCES), max_size=len(PATHS)),
    edits=st.lists(st.lists(_edit, min_size=1, max_size=3), min_size=1, max_size=4),
)
def test_incremental_equals_cold_after_any_edits(
    initial: dict[str, str], edits: list[list[tuple[str, str | None]]]
) -> None:
    with tempfile.TemporaryDirectory(prefix="cpg-incr-") as scratch:
        repo = Path(scratch) / "repo"
        state = Path(scratch) / "state"
        repo.mkdir()
        for path, source in initial.items():
            _write(repo, path, source)
        assert_equals_cold(extract_incremental(repo, state_dir=state), repo)
        for batch in edits:
            names_before, bytes_before = _names(repo), _contents(repo)
            for path, source in batch:
                if source is None:
                    (repo / path).unlink(missing_ok=True)
                else:
                    _write(repo, path, source)
            bytes_after = _contents(repo)
            changed = {p for p in bytes_after if bytes_before.get(p) != bytes_after[p]}
            result = extract_incremental(repo, state_dir=state)
            assert result.note is None
            assert_equals_cold(result, repo)
            # exactly the edited files and the files whose module naming changed are re-extracted
            names_after = _names(repo)
            expected = {
                p for p, n in names_after.items() if p in changed or names_before.get(p) != n
            }
            assert set(result.extracted) == expected
            assert set(result.removed) == set(names_before) - set(names_after)


def _names(repo: Path) -> dict[str, tuple[str, bool, str]]:
    """What the scan derives from other files: module, is_package, source_root per path."""
    return {f.path: (f.module, f.is_package, f.source_root) for f in scan_repo(repo).files}


def _contents(repo: Path) -> dict[str, bytes]:
    return {p: (repo / p).read_bytes() for p in PATHS if (repo / p).exists()}


def _write(repo: Path, path: str, source: str) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(source.encode("utf-8"))
