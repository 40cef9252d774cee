"""Cached test results: an unchanged table is not tested again.

A result is keyed on the test's definition hash and the data versions of every table it read;
the store keeps one entry per test (the latest), in ``<store>/_cpg/test_results.msgpack``,
written atomically (`atomic_write`). Only decided results (passed, failed) are cached: an
error (a timeout, a missing table) may not happen again, so it is retried. A file that cannot
be decoded is ignored and replaced, never trusted.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

import msgspec

from cpg_core.artifacts.contracts import DataTestResult
from cpg_core.plan.hashing import hash_value
from cpg_core.plan.planned_tests import PlannedTest
from cpg_core.store.runs import atomic_write

CACHE_FILE: Final = Path("_cpg") / "test_results.msgpack"
CACHE_FORMAT: Final = 1


class _Entry(msgspec.Struct, frozen=True):
    key: str
    result: DataTestResult


class _CacheFile(msgspec.Struct):
    format: int
    entries: dict[str, _Entry]


def cache_key(test: PlannedTest, versions: Mapping[str, str]) -> str | None:
    """The key of `test`'s result over tables at `versions` (None: some version is unknown)."""
    if any(name not in versions for name in test.reads):
        return None
    return hash_value((test.definition_hash, sorted((n, versions[n]) for n in test.reads)))


class ResultCache:
    """The store's cached results (`root` None: a cache that remembers nothing)."""

    def __init__(self, root: Path | None) -> None:
        self.path = root / CACHE_FILE if root is not None else None
        self.entries: dict[str, _Entry] = {}
        self.dirty = False
        if self.path is not None:
            self._load(self.path)

    def _load(self, path: Path) -> None:
        try:
            loaded = msgspec.msgpack.decode(path.read_bytes(), type=_CacheFile)
        except (OSError, msgspec.DecodeError):
            return
        if loaded.format == CACHE_FORMAT:
            self.entries = loaded.entries

    def get(self, test: PlannedTest, versions: Mapping[str, str]) -> DataTestResult | None:
        """The cached result of `test` on these versions, marked `cached`, or None."""
        key = cache_key(test, versions)
        entry = self.entries.get(test.id)
        if key is None or entry is None or entry.key != key:
            return None
        return msgspec.structs.replace(entry.result, cached=True)

    def put(self, test: PlannedTest, versions: Mapping[str, str], result: DataTestResult) -> None:
        """Remember a decided result (errors and results of unversioned tables are not kept)."""
        key = cache_key(test, versions)
        if self.path is None or key is None or result.status == "error":
            return
        self.entries[test.id] = _Entry(key, msgspec.structs.replace(result, cached=False))
        self.dirty = True

    def save(self) -> None:
        """Write the entries if they changed (atomically)."""
        if self.path is None or not self.dirty:
            return
        data = msgspec.msgpack.encode(_CacheFile(CACHE_FORMAT, dict(sorted(self.entries.items()))))
        atomic_write(self.path, data)
        self.dirty = False
