"""Persistent compile cache: per-view analysis keyed by its SQL text and its upstream schemas.

An unchanged project recompiles from here without parsing. The file is one msgpack blob
written atomically (`atomic_write`: a compile killed while saving leaves the previous file, and
its temp file is removed by the next save); a corrupt file or one from other tool versions is
ignored (and replaced), never trusted.
"""

from __future__ import annotations

from importlib.metadata import version
from pathlib import Path

import msgspec
import pyarrow as pa

import cpg_core
from cpg_core.problems import Problem
from cpg_core.store.atomic import atomic_write

SQLGLOT_VERSION = version("sqlglot")

CACHE_FORMAT = 2


class CachedView(msgspec.Struct, frozen=True):
    """Everything the compiler derives from one view's text and its upstream schemas."""

    tables: tuple[str, ...]
    table_positions: dict[str, tuple[int, int]]
    parse_problems: tuple[Problem, ...]
    cte_named_tables: tuple[str, ...] = ()
    upstream_hash: str | None = None
    required: dict[str, tuple[str, ...]] = {}
    output_schema: bytes | None = None
    sql_hash: str = ""
    lineage: dict[str, tuple[tuple[str, str], ...]] = {}
    problems: tuple[Problem, ...] = ()


class _CacheFile(msgspec.Struct):
    versions: tuple[str, ...]
    entries: dict[str, CachedView]


def _versions() -> tuple[str, ...]:
    return (str(CACHE_FORMAT), cpg_core.__version__, SQLGLOT_VERSION, version("datafusion"))


def schema_to_bytes(schema: pa.Schema) -> bytes:
    """Arrow IPC bytes of a schema (round-trips exactly, metadata included)."""
    return schema.serialize().to_pybytes()


def schema_from_bytes(data: bytes) -> pa.Schema:
    """Inverse of `schema_to_bytes`."""
    return pa.ipc.read_schema(pa.py_buffer(data))


class CompileCache:
    """Load once per compile, look entries up by key, save the entries this compile used."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.entries: dict[str, CachedView] = {}
        self.used: dict[str, CachedView] = {}
        self.rejected: str | None = None  # why an existing file was not trusted
        self.changed = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = msgspec.msgpack.decode(path.read_bytes(), type=_CacheFile)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as error:
            self.rejected = f"unreadable compile cache {path}: {error}"
            return
        if data.versions != _versions():
            self.rejected = f"compile cache {path} is from other tool versions"
            return
        self.entries = data.entries

    def has(self, key: str) -> bool:
        """Whether an entry exists (without marking it used)."""
        return key in self.entries

    def get(self, key: str) -> CachedView | None:
        entry = self.entries.get(key)
        if entry is not None:
            self.used[key] = entry
        return entry

    def put(self, key: str, entry: CachedView) -> None:
        self.used[key] = entry
        self.changed = True

    def save(self) -> None:
        """Write the used entries (dropping stale ones) when anything changed."""
        if self.path is None or (not self.changed and len(self.used) == len(self.entries)):
            return
        payload = msgspec.msgpack.encode(_CacheFile(versions=_versions(), entries=self.used))
        atomic_write(self.path, payload, legacy_prefix=".compile_cache.")
