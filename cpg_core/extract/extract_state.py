"""On-disk state of incremental extraction: a manifest plus the last canonical evidence tables.

Layout under ``state_dir`` (the store passes ``<store>/_cpg/extract``)::

    manifest.msgpack            envelope {format, checksum, body}; body = msgpack `Manifest`
    <table>-<version16>.arrow   one uncompressed Arrow IPC file per evidence table (memory-mapped)

Why this shape: a no-change run must return the previous tables without re-extracting, re-sorting
or re-hashing, so the tables are stored with their partition maps (one partition per file, by
`path`: `store.partitions`) and data versions, and IPC files can be memory-mapped (no copy, no
parse). A run that changed some files rehashes only their partitions. Writes are atomic (temp file, fsync, ``os.replace``), the
manifest is replaced last and only after the whole extraction succeeded, so a run that dies midway
leaves the previous manifest and the files it names intact. Files are named by content, never
rewritten in place: a table mapped by an earlier run keeps its pages even after cleanup unlinks it.

Nothing on disk is trusted: the manifest carries a sha256 of its body; every table file must have
its recorded size, schema and row count; and unless its inode, size, mtime and ctime are exactly
those recorded right after it was written (the test git uses for its index), its content is
re-hashed by partition and must give its recorded partition map. Any failure raises `StateError`; the caller
rebuilds from scratch.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from pathlib import Path

import msgspec
import pyarrow as pa

from cpg_core.extract.schema import EVIDENCE_SCHEMAS, PARTITION_COLUMN, TABLE_NAMES
from cpg_core.store.partitions import PartitionMap, partition

STATE_FORMAT = 2
MANIFEST = "manifest.msgpack"
LOCK = "lock"
TABLE_SUFFIX = ".arrow"
TEMP_SUFFIX = ".tmp"


class StateError(Exception):
    """The state on disk is unusable (corrupt, truncated, missing a file, wrong schema)."""


class TableState(msgspec.Struct, frozen=True, array_like=True):
    """One stored table: its file, row count, partition map (by `path`) and the file's stat
    right after writing. Its data version is its map's."""

    file: str
    rows: int
    partitions: PartitionMap
    stat: tuple[int, int, int, int]  # (inode, size, mtime_ns, ctime_ns)

    @property
    def data_version(self) -> str:
        return self.partitions.version


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    """What the stored tables hold: per path the file key its rows were extracted under.

    `extractor` and `canonical` name the code versions that produced the rows and the row order /
    data versions; a key of ``""`` marks a file whose rows must never be reused (unreadable).
    """

    format: int = STATE_FORMAT
    extractor: str
    canonical: str
    files: dict[str, str]
    tables: dict[str, TableState]


class _Envelope(msgspec.Struct, frozen=True, array_like=True):
    format: int
    checksum: str
    body: bytes


@dataclass(frozen=True)
class LoadedState:
    """A verified manifest and its tables, memory-mapped."""

    manifest: Manifest
    tables: dict[str, pa.Table]


def read_manifest(state_dir: Path) -> Manifest | None:
    """The manifest, None when there is none; `StateError` when it is corrupt."""
    path = state_dir / MANIFEST
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as error:
        raise StateError(f"manifest unreadable: {error.strerror or error}") from error
    try:
        envelope = msgspec.msgpack.decode(raw, type=_Envelope)
    except msgspec.DecodeError as error:
        raise StateError(f"manifest does not decode: {error}") from error
    if envelope.format != STATE_FORMAT:
        raise StateError(f"manifest format {envelope.format}, expected {STATE_FORMAT}")
    if hashlib.sha256(envelope.body).hexdigest() != envelope.checksum:
        raise StateError("manifest checksum does not match its contents")
    try:
        manifest = msgspec.msgpack.decode(envelope.body, type=Manifest)
    except msgspec.DecodeError as error:
        raise StateError(f"manifest body does not decode: {error}") from error
    if list(manifest.tables) != list(TABLE_NAMES):
        raise StateError("manifest does not list exactly the evidence tables")
    return manifest


def load_tables(
    state_dir: Path, manifest: Manifest, *, verify_content: bool
) -> dict[str, pa.Table]:
    """Memory-map and verify every table the manifest names (see the module docstring)."""
    tables: dict[str, pa.Table] = {}
    for name, entry in manifest.tables.items():
        path = state_dir / entry.file
        try:
            st = path.stat()
            if st.st_size != entry.stat[1]:
                raise StateError(f"{entry.file}: {st.st_size} bytes, expected {entry.stat[1]}")
            table = pa.ipc.open_file(pa.memory_map(str(path), "r")).read_all()
        except FileNotFoundError as error:
            raise StateError(f"{entry.file} is missing") from error
        except (OSError, pa.ArrowException) as error:
            raise StateError(f"{entry.file} is unreadable: {error}") from error
        if not table.schema.equals(EVIDENCE_SCHEMAS[name]):
            raise StateError(f"{entry.file} does not have the {name} schema")
        if table.num_rows != entry.rows:
            raise StateError(f"{entry.file}: {table.num_rows} rows, expected {entry.rows}")
        looks_untouched = not verify_content and _stat_of(st) == entry.stat
        if not looks_untouched and partition(table, PARTITION_COLUMN)[1] != entry.partitions:
            raise StateError(
                f"{entry.file}: content does not match its data version (partition map)"
            )
        tables[name] = table
    return tables


def save_state(
    state_dir: Path,
    *,
    extractor: str,
    canonical: str,
    files: Mapping[str, str],
    tables: Mapping[str, pa.Table],
    partitions: Mapping[str, PartitionMap],
    previous: Manifest | None = None,
) -> Manifest:
    """Write the tables (those not already stored) and then the manifest, atomically.

    Call only after the extraction fully succeeded. Files that the new manifest does not name are
    deleted afterwards (mapped pages of deleted files stay valid).
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    with _locked(state_dir):
        stored = previous.tables if previous is not None else {}
        entries: dict[str, TableState] = {}
        for name in TABLE_NAMES:
            pmap = partitions[name]
            old = stored.get(name)
            if old is not None and old.partitions == pmap and _unchanged(state_dir, old):
                entries[name] = old
                continue
            entries[name] = _write_table(state_dir, name, tables[name], pmap)
        manifest = Manifest(
            extractor=extractor, canonical=canonical, files=dict(files), tables=entries
        )
        body = msgspec.msgpack.encode(manifest)
        envelope = _Envelope(STATE_FORMAT, hashlib.sha256(body).hexdigest(), body)
        _write_atomic(state_dir, MANIFEST, msgspec.msgpack.encode(envelope))
        _fsync_dir(state_dir)
        _remove_unreferenced(state_dir, {e.file for e in entries.values()})
    return manifest


def _write_table(state_dir: Path, name: str, table: pa.Table, pmap: PartitionMap) -> TableState:
    file = f"{name}-{pmap.version[:16]}{TABLE_SUFFIX}"
    fd, temp_name = tempfile.mkstemp(prefix=f".{name}-", suffix=TEMP_SUFFIX, dir=state_dir)
    os.close(fd)
    temp = Path(temp_name)
    try:
        with pa.OSFile(temp_name, "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        _fsync_path(temp_name)
        temp.replace(state_dir / file)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    st = (state_dir / file).stat()
    return TableState(file=file, rows=table.num_rows, partitions=pmap, stat=_stat_of(st))


def _write_atomic(state_dir: Path, name: str, data: bytes) -> None:
    fd, temp_name = tempfile.mkstemp(prefix=f".{name}-", suffix=TEMP_SUFFIX, dir=state_dir)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temp.replace(state_dir / name)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _unchanged(state_dir: Path, entry: TableState) -> bool:
    try:
        return _stat_of((state_dir / entry.file).stat()) == entry.stat
    except OSError:
        return False


def _remove_unreferenced(state_dir: Path, keep: set[str]) -> None:
    """Old table files and temp files of runs that died (we hold the lock: no writer is active)."""
    for entry in state_dir.iterdir():
        name = entry.name
        stale_table = name.endswith(TABLE_SUFFIX) and name not in keep
        if stale_table or name.endswith(TEMP_SUFFIX):
            with contextlib.suppress(OSError):
                entry.unlink()


def _stat_of(st: os.stat_result) -> tuple[int, int, int, int]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _fsync_path(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        _fsync_path(str(path))


@contextlib.contextmanager
def _locked(state_dir: Path) -> Generator[None, None, None]:
    """One writer at a time per state directory (two builds of one store may overlap)."""
    with (state_dir / LOCK).open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
