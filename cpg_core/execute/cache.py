"""Hamilton's cache, backed by the Delta store: metadata in SQLite, results are the Delta tables.

Why the Delta tables are the result store: every persisted view output is already stored there,
content-addressed by its data version (commit metadata), so pickling each result a second time
would double the disk and the write time. A cache hit is the table at the recorded Delta
version (`StoredTable`: read only if a reader runs); a table or data file that is gone or not
its recorded size raises `ResultRetrievalError`, on which Hamilton drops the entry and
recomputes — the cache is checked, never trusted.

Why WAL + `synchronous=OFF`: the stock SQLite metadata store commits once per node (≈ 5 ms each,
docs/dependencies.md#hamilton-sqlite-commits). WAL keeps commits atomic under process death (SIGKILL); a file damaged otherwise (power
loss, tampering) fails `quick_check` at open and the cache directory is rebuilt.
"""

from __future__ import annotations

import shutil
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hamilton.caching.stores.base import ResultRetrievalError, ResultStore
from hamilton.caching.stores.sqlite import SQLiteMetadataStore

from cpg_core.execute.stored_table import StoredTable
from cpg_core.store.delta_store import DeltaStore

METADATA_FILE = "metadata_store.db"


class WalMetadataStore(SQLiteMetadataStore):
    """Hamilton's SQLite metadata store with WAL journaling and no fsync per commit.

    Relies on `SQLiteMetadataStore._get_connection` creating one connection per thread
    (pinned by tests/execute/test_hamilton_pins.py).
    """

    def _get_connection(self) -> sqlite3.Connection:
        fresh = not hasattr(self._thread_local, "connection")
        connection = super()._get_connection()
        if fresh:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")
        return connection

    def forget_version(self, data_version: str) -> None:
        """Drop every entry whose result is `data_version` (its stored rows are unreadable):
        the nodes that gave it are recomputed by the next build."""
        connection = self._get_connection()
        connection.execute("DELETE FROM cache_metadata WHERE data_version = ?", (data_version,))
        connection.commit()


class DeltaResultStore(ResultStore):
    """Results by data version = rows of a stored Delta table whose commit has that version.

    The index maps data version → (table, Delta version): facts about the store that stay true
    (a stored version is immutable), learned from the store at the start of each run; one that a
    vacuum or a deleted table made false is dropped on the failed read. `set` stores nothing:
    the build writes outputs.
    """

    def __init__(self, store: DeltaStore) -> None:
        self.store = store
        self._index: dict[str, tuple[str, int]] = {}
        self._lock = threading.Lock()
        self.damaged: set[str] = set()  # tables whose files failed the check (this run)

    def learn(self, entries: Mapping[str, tuple[str, int]], damaged: set[str]) -> None:
        """Add what the store holds now (data version → table and Delta version); the run's
        set `damaged` collects the tables found damaged, to be rewritten whole."""
        with self._lock:
            self._index.update(entries)
            self.damaged = damaged

    def set(self, data_version: str, result: Any, **kwargs: Any) -> None:
        """Nothing to do: the build's store adapter writes persisted outputs to Delta."""

    def get(self, data_version: str, **kwargs: Any) -> Any | None:
        with self._lock:
            location = self._index.get(data_version)
        if location is None:
            raise ResultRetrievalError(f"no stored table has data version {data_version[:12]}")
        name, version = location
        try:
            self.store.check_files(name, version)
        except Exception as error:  # deleted or damaged table: recompute, never trust
            self.delete(data_version)
            self.damaged.add(name)
            raise ResultRetrievalError(f"stored table {name!r} v{version}: {error}") from error
        return StoredTable(self.store.root, name, version, data_version)

    def delete(self, data_version: str) -> None:
        with self._lock:
            self._index.pop(data_version, None)

    def delete_all(self) -> None:
        with self._lock:
            self._index.clear()

    def exists(self, data_version: str) -> bool:
        with self._lock:
            return data_version in self._index


def check_cache_dir(path: Path) -> str | None:
    """Make sure the metadata database at `path` is sound; wipe it if not.

    Returns a warning when the cache had to be discarded (it is then rebuilt from scratch).
    """
    database = path / METADATA_FILE
    if not database.exists():
        return None
    try:
        connection = sqlite3.connect(str(database))
        try:
            status = connection.execute("PRAGMA quick_check").fetchone()
            connection.execute("SELECT cache_key, data_version FROM cache_metadata LIMIT 1")
        finally:
            connection.close()
        if status is None or status[0] != "ok":
            raise sqlite3.DatabaseError(str(status))
    except sqlite3.Error as error:
        shutil.rmtree(path, ignore_errors=True)
        return f"Hamilton cache at {path} was damaged ({error}); discarded and rebuilt"
    return None
