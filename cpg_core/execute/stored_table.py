"""`StoredTable`: a view's output that the store already holds, read only if a reader runs.

Why: Hamilton hands a cache hit's result to every reader, and reading it back whole made a
build in which nothing changed read every stored table (4.5 s of a 7.8 s no-change build of
the stdlib's CPG, for 43 tables no view ran on). A hit's data version is known from the
store's commit; its rows are read at most once per build, at the Delta version the cache
recorded, by the first reader that runs — a reader that is itself a hit never reads them.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow as pa

from cpg_core.store.delta_store import DeltaStore


class StoredTableReadError(RuntimeError):
    """The rows of a stored version could not be read (a data file damaged in place: one
    missing or resized is found before the hit is taken). `version`: its data version."""

    def __init__(self, message: str, version: str) -> None:
        super().__init__(message)
        self.version = version

    def __reduce__(self) -> tuple[type[StoredTableReadError], tuple[str, str]]:
        return (type(self), (str(self), self.version))  # from a worker process, intact


class StoredTable:
    """Table `name` at Delta version `delta_version` of the store at `root`, whose content
    hash is `version`; its rows on first use."""

    def __init__(self, root: Path, name: str, delta_version: int, version: str) -> None:
        self.root = root
        self.name = name
        self.delta_version = delta_version
        self.version = version
        self._table: pa.Table | None = None
        self._lock = threading.Lock()

    def table(self) -> pa.Table:
        """The stored rows (read once, then shared), remembered under their data version."""
        from cpg_core.execute.versions import remember  # versions types its inputs by this class

        with self._lock:
            if self._table is None:
                try:
                    rows = DeltaStore(self.root).read(self.name, self.delta_version)
                except Exception as error:  # deltalake/Arrow raise plain errors: name the table
                    raise StoredTableReadError(
                        f"stored table {self.name!r} v{self.delta_version} (a cached result) "
                        f"could not be read: {error}; its cache entry is dropped, the next "
                        "build recomputes it",
                        self.version,
                    ) from error
                self._table = remember(rows, self.version)
            return self._table

    def __getstate__(self) -> dict[str, Any]:  # to a worker process: it reads the rows itself
        return {k: getattr(self, k) for k in ("root", "name", "delta_version", "version")}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._table = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"StoredTable({self.name!r}, v{self.delta_version}, {self.version[:12]})"
