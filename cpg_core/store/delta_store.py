"""The Delta Lake store: one Delta table per dataset under ``root/tables/<name>``.

Why Delta: a write becomes visible only when its commit file appears in ``_delta_log`` (an atomic
rename-if-absent on local disks), so readers see the previous version or the new one, never a mix,
and a writer killed mid-write leaves only unreferenced Parquet files behind.

Each commit carries the data version (content hash), the fingerprint that produced it and the run
id as Delta commit metadata (``cpg.data_version``, ``cpg.fingerprint``, ``cpg.run_id``), so `info`
answers from the transaction log without reading data. A write whose data version equals the stored
one commits nothing. History is kept (no vacuum by default).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, WriterProperties, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError
from deltalake.exceptions import TableNotFoundError as DeltaTableNotFoundError

from cpg_core.store.content_hash import CanonicalTable, StoreTypeError, canonicalize, trusted
from cpg_core.store.delta_stats import STATS_COLUMNS, stats_columns
from cpg_core.store.errors import (
    DamagedTableError,
    InvalidNameError,
    StoreConflictError,
    StoreWriteError,
    TableNotFoundError,
)
from cpg_core.store.lock import DEFAULT_LOCK_TIMEOUT_S, store_lock
from cpg_core.store.partitions import partition

NAME_PATTERN: Final = re.compile(r"[a-z_][a-z0-9_]{0,127}")
RESERVED_PREFIX: Final = "_cpg"  # store-internal tables (events); datasets cannot use it
META_DATA_VERSION: Final = "cpg.data_version"
META_FINGERPRINT: Final = "cpg.fingerprint"
META_RUN_ID: Final = "cpg.run_id"
META_PARTITION_BY: Final = "cpg.partition_by"  # a partitioned table's column (`store.partitions`)
# Files of a partitioned table stay small, so replacing a few partitions rewrites few files
# (a predicate overwrite rewrites only the files whose column statistics may match).
PARTITIONED_FILE_BYTES: Final = 2 * 2**20
# Commits that do not change a table's rows: `info` looks past them for the last data commit.
_NO_DATA_CHANGE: Final = frozenset(
    {"VACUUM START", "VACUUM END", "SET TBLPROPERTIES", "OPTIMIZE", "CREATE CHECKPOINT"}
)


class StoredVersion(msgspec.Struct, frozen=True, kw_only=True):
    """One committed version of a stored table, as recorded in its Delta log.

    `data_version`/`fingerprint`/`run_id` are None when the last data commit was not made by cpg.
    `bytes` is the Parquet size on disk of the version's files.
    """

    name: str
    version: int
    data_version: str | None
    fingerprint: str | None
    run_id: str | None
    rows: int
    bytes: int
    partition_by: str | None = None  # the partition column of a partitioned table


def validate_name(name: str, *, allow_reserved: bool = False) -> str:
    """Check a dataset name: `[a-z_][a-z0-9_]*` (≤ 128 chars), never a path, never reserved."""
    if not isinstance(name, str) or NAME_PATTERN.fullmatch(name) is None:
        raise InvalidNameError(
            f"invalid table name {name!r}: use lower-case letters, digits and '_' "
            "(starting with a letter or '_', at most 128 characters)"
        )
    if name.startswith(RESERVED_PREFIX) and not allow_reserved:
        raise InvalidNameError(
            f"invalid table name {name!r}: the {RESERVED_PREFIX}* prefix is reserved"
        )
    return name


class DeltaStore:
    """Delta tables under `root/tables`, written atomically, one version per changed write.

    Writes take the store lock (see `cpg_core.store.lock`): a run should hold it from start to end
    through `run_lock`; within one process the lock is shared by the run and its writes.
    """

    def __init__(self, root: Path | str, *, lock_timeout_s: float = DEFAULT_LOCK_TIMEOUT_S) -> None:
        self.root = Path(root).absolute()
        self.tables_dir = self.root / "tables"
        self.lock_path = self.root / ".lock"
        self.lock_timeout_s = lock_timeout_s
        self._table_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    # ---------------------------------------------------------------- paths and locks

    def table_path(self, name: str, *, allow_reserved: bool = False) -> Path:
        """The directory of table `name`, guaranteed to be directly inside `root/tables`."""
        validate_name(name, allow_reserved=allow_reserved)
        path = self.tables_dir / name
        # A valid name is one path component, so only a planted symlink can lead elsewhere;
        # one lstat instead of resolving the whole path on every call (a write makes several).
        if path.is_symlink() and path.resolve().parent != self.tables_dir.resolve():
            raise InvalidNameError(f"table {name!r} resolves outside the store ({path.resolve()})")
        return path

    @contextlib.contextmanager
    def run_lock(self, owner: str, timeout_s: float | None = None) -> Iterator[None]:
        """Hold the store lock for a whole run (`owner` is quoted to anyone who has to wait)."""
        wait = self.lock_timeout_s if timeout_s is None else timeout_s
        with store_lock(self.lock_path, owner, wait):
            yield

    @contextlib.contextmanager
    def _writing(self, name: str, run_id: str) -> Iterator[None]:
        with self._guard:
            table_lock = self._table_locks.setdefault(name, threading.Lock())
        with table_lock, self.run_lock(f"run {run_id}, writing {name}"):
            yield

    # ---------------------------------------------------------------- reading

    def exists(self, name: str) -> bool:
        """Is there a committed table `name`?"""
        return DeltaTable.is_deltatable(str(self.table_path(name, allow_reserved=True)))

    def names(self) -> list[str]:
        """The stored dataset names, sorted (reserved internal tables excluded)."""
        if not self.tables_dir.is_dir():
            return []
        found = []
        for entry in self.tables_dir.iterdir():
            name = entry.name
            if (
                NAME_PATTERN.fullmatch(name)
                and not name.startswith(RESERVED_PREFIX)
                and entry.is_dir()
                and not entry.is_symlink()
                and self.exists(name)
            ):
                found.append(name)
        return sorted(found)

    def _open(self, name: str, version: int | None = None, *, reserved: bool = False) -> DeltaTable:
        path = self.table_path(name, allow_reserved=reserved)
        try:
            return DeltaTable(str(path), version=version)
        except DeltaTableNotFoundError:
            raise TableNotFoundError(f"table {name!r} does not exist in {self.root}") from None
        except DeltaError as exc:
            if version is not None:
                raise TableNotFoundError(
                    f"table {name!r} has no version {version}: {exc}"
                ) from None
            raise

    def read(
        self, name: str, version: int | None = None, *, where: pc.Expression | None = None
    ) -> pa.Table:
        """The rows of `name` at `version` (default: the latest); only those matching `where`
        when given (evaluated while scanning: files its statistics rule out are not read)."""
        return self._open(name, version, reserved=True).to_pyarrow_table(filters=where)

    def check_files(self, name: str, version: int) -> None:
        """Raise `DamagedTableError` when a data file of `name` at `version` is missing or not
        the size its commit recorded: what can be checked without reading the rows (a cache
        hit is trusted on this, its rows read only if a view that runs needs them)."""
        table = self._open(name, version, reserved=True)
        root = self.table_path(name, allow_reserved=True)
        actions = table.get_add_actions()
        paths = actions.column("path").to_pylist()
        sizes = actions.column("size_bytes").to_pylist()
        for relative, size in zip(paths, sizes, strict=True):
            file = root / unquote(str(relative))
            try:
                found = file.stat().st_size
            except OSError as error:
                raise DamagedTableError(f"table {name!r} v{version}: {error}") from error
            if found != size:
                raise DamagedTableError(
                    f"table {name!r} v{version}: {file.name} has {found} bytes, "
                    f"its commit recorded {size}"
                )

    def table(self, name: str, version: int | None = None) -> DeltaTable:
        """The Delta table `name` at `version` (default: the latest), for engines that scan it.

        DataFusion scans it natively (`SessionContext.register_table(name, store.table(name))`,
        deltalake's table provider): the scan runs in Rust and never calls back into Python.
        An Arrow dataset (`to_pyarrow_dataset`) reads through a Python file system on Arrow's
        and DataFusion's threads instead, and threads still winding a scan down when the
        interpreter exits crash the process (docs/cli.md, "Why cpg query never aborts").
        """
        return self._open(name, version, reserved=True)

    def info(self, name: str, version: int | None = None) -> StoredVersion | None:
        """What is stored for `name` (at `version`), from the Delta log only; None if absent."""
        try:
            table = self._open(name, version, reserved=True)
        except TableNotFoundError:
            if version is None:
                return None
            raise
        return _stored_version(name, self.table_path(name, allow_reserved=True), table)

    def data_version(self, name: str) -> str | None:
        """The data version of the latest data commit of `name`, from its log files alone (a
        directory listing and one small file, no table load: cheap enough to ask per test).

        None when there is no table or its last data commit was not made by cpg."""
        path = self.table_path(name, allow_reserved=True)
        latest = latest_log_version(path)
        if latest is None:
            return None
        value = _data_commit(path, latest).get(META_DATA_VERSION)
        return value if isinstance(value, str) else None

    def versions(self, name: str) -> list[StoredVersion]:
        """Every retained version of `name`, oldest first."""
        path = self.table_path(name, allow_reserved=True)
        latest = self._open(name, reserved=True).version()
        return [
            _stored_version(name, path, self._open(name, v, reserved=True))
            for v in range(latest + 1)
        ]

    # ---------------------------------------------------------------- writing

    def write(
        self,
        name: str,
        table: pa.Table | CanonicalTable,
        *,
        fingerprint: str,
        data_version: str | None = None,
        run_id: str,
        partition_by: str | None = None,
        repair: bool = False,
    ) -> StoredVersion:
        """Replace `name` with `table` as one new Delta version, unless the content is unchanged
        (`repair`: even then — the latest version's files failed `check_files`).

        `data_version` defaults to the table's `content_hash`; pass a `CanonicalTable` (from
        `canonicalize`) to sort and hash only once. Rows are written in canonical order, so the same
        content gives the same Parquet bytes. Raises `StoreConflictError` (another writer won),
        `StoreBusyError` (another process holds the store) or `StoreWriteError` (I/O, disk full,
        unstorable type) — in every case the previous version stays readable. `partition_by`
        marks a partitioned table (`store.partitions`): its data version is then its partition
        map's, and `replace_partitions` may later replace some of its partitions.
        """
        path = self.table_path(name)
        with self._writing(name, run_id):
            existing = self._load(path)
            current = _stored_version(name, path, existing) if existing is not None else None
            if repair:
                current = None
            if (
                current is not None
                and data_version is not None
                and current.data_version == data_version
            ):
                return current  # unchanged: skip even the sort
            try:
                canonical = _canonical(table, partition_by)
            except StoreTypeError as exc:
                hint = f" ({exc.hint})" if exc.hint else ""
                raise StoreWriteError(f"cannot store table {name!r}: {exc}{hint}") from exc
            version = data_version or canonical.data_version
            if current is not None and current.data_version == version:
                return current
            metadata = _metadata(version, fingerprint, run_id, partition_by)
            configuration = self._keep_stats_readable(name, existing, canonical.table)
            self._commit(
                name, existing or path, canonical.table, metadata, current, config=configuration
            )
            # the open table follows its own commit: no second log replay, no commit-file read
            written = existing if existing is not None else DeltaTable(str(path))
            return _version_of(name, written, metadata)

    def replace_partitions(
        self,
        name: str,
        rows: pa.Table,
        *,
        where: str,
        partition_by: str,
        base_version: int,
        fingerprint: str,
        data_version: str,
        run_id: str,
    ) -> StoredVersion:
        """Replace the rows of `name` matching `where` (a Delta SQL predicate on the partition
        column) by `rows`, in one commit: readers see the whole old version or the whole new
        one. Delta checks every new row matches `where`. `base_version` is the version the
        caller computed against: if the table moved since, `StoreConflictError` (nothing
        written). Errors as `write`; the previous version stays readable in every case."""
        path = self.table_path(name)
        with self._writing(name, run_id):
            existing = self._load(path)
            current = _stored_version(name, path, existing) if existing is not None else None
            if existing is None or current is None or current.version != base_version:
                found = current.version if current is not None else "no table"
                raise StoreConflictError(
                    f"table {name!r} is at version {found}, not {base_version}: its "
                    "partitions were not replaced"
                )
            if current.data_version == data_version:
                return current
            metadata = _metadata(data_version, fingerprint, run_id, partition_by)
            self._keep_stats_readable(name, existing, rows)  # new rows' dates, as `write`
            self._commit(name, existing, rows, metadata, current, where=where)
            return _version_of(name, existing, metadata)

    @staticmethod
    def _load(path: Path) -> DeltaTable | None:
        """The latest version of the table at `path`, or None when there is none yet."""
        try:
            return DeltaTable(str(path))
        except DeltaTableNotFoundError:
            return None

    def _commit(
        self,
        name: str,
        target: Path | DeltaTable,
        table: pa.Table,
        metadata: Mapping[str, str],
        current: StoredVersion | None,
        *,
        mode: str = "overwrite",
        where: str | None = None,
        config: Mapping[str, str] | None = None,
    ) -> None:
        if isinstance(target, Path):
            target.parent.mkdir(parents=True, exist_ok=True)
        uri = str(target) if isinstance(target, Path) else target
        previous = f"version {current.version}" if current is not None else "no table"
        try:
            if mode == "append":
                write_deltalake(
                    uri,
                    table,
                    mode="append",
                    commit_properties=CommitProperties(custom_metadata=dict(metadata)),
                    writer_properties=_WRITER,
                )
            elif where is not None:  # replaceWhere: matching rows out, `table` in, one commit
                write_deltalake(
                    uri,
                    table,
                    mode="overwrite",
                    predicate=where,
                    target_file_size=PARTITIONED_FILE_BYTES,
                    commit_properties=CommitProperties(custom_metadata=dict(metadata)),
                    writer_properties=_WRITER,
                )
            else:
                write_deltalake(
                    uri,
                    table,
                    mode="overwrite",
                    schema_mode="overwrite",
                    target_file_size=(
                        PARTITIONED_FILE_BYTES if META_PARTITION_BY in metadata else None
                    ),
                    configuration=dict(config) if config else None,
                    commit_properties=CommitProperties(custom_metadata=dict(metadata)),
                    writer_properties=_WRITER,
                )
        except CommitFailedError as exc:
            raise StoreConflictError(
                f"store conflict: table {name!r} was committed concurrently by another writer; "
                f"this write is not visible ({previous} is unchanged by it): {_first_line(exc)}"
            ) from exc
        except (DeltaError, OSError, pa.ArrowException) as exc:
            raise StoreWriteError(
                f"writing table {name!r} failed ({previous} is intact): {_first_line(exc)}"
            ) from exc
        except Exception as exc:  # deltalake raises bare `Exception` for some Rust-side errors
            raise StoreWriteError(
                f"writing table {name!r} failed ({previous} is intact): {_first_line(exc)}"
            ) from exc

    def _keep_stats_readable(
        self, name: str, existing: DeltaTable | None, table: pa.Table
    ) -> dict[str, str] | None:
        """Keep columns readers could not parse out of the statistics (`delta_stats`): the
        property of a new table, or set on an existing one (its own commit, no data change)."""
        columns = stats_columns(table)
        if columns is None:
            return None
        if existing is None:
            return {STATS_COLUMNS: columns}
        if existing.metadata().configuration.get(STATS_COLUMNS) != columns:
            try:
                existing.alter.set_table_properties({STATS_COLUMNS: columns})
            except Exception as exc:  # deltalake raises bare `Exception` for Rust-side errors
                raise StoreWriteError(
                    f"writing table {name!r} failed (its previous version is intact): "
                    f"{_first_line(exc)}"
                ) from exc
        return None

    def append_internal(self, name: str, table: pa.Table, metadata: Mapping[str, str]) -> None:
        """Append rows to a reserved internal table (events) in one commit, without the store lock.

        Concurrent appends do not conflict in Delta (blind appends commute), so event logs of two
        processes never block each other.
        """
        if not name.startswith(RESERVED_PREFIX):
            raise InvalidNameError(f"{name!r} is not an internal table")
        path = self.table_path(name, allow_reserved=True)
        self._commit(name, path, table, metadata, None, mode="append")


_WRITER: Final = WriterProperties(compression="ZSTD")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def latest_log_version(path: Path) -> int | None:
    """The newest version of the Delta table at `path` by its commit files (None: no table)."""
    try:
        names = [entry.name for entry in (path / "_delta_log").iterdir()]
    except OSError:
        return None
    versions = [
        int(name[:20])
        for name in names
        if len(name) == 25 and name.endswith(".json") and name[:20].isdigit()
    ]
    return max(versions) if versions else None


def _commit_info(path: Path, version: int) -> dict[str, Any] | None:
    """The ``commitInfo`` action of one commit, read from its log file (None if cleaned up).

    Read directly (Delta protocol: one JSON action per line) because deltalake 1.6.6's
    ``DeltaTable.history()`` mislabels versions when the table was loaded at an older version.
    """
    try:
        lines = (path / "_delta_log" / f"{version:020d}.json").read_bytes().splitlines()
    except OSError:
        return None
    for line in lines:
        if b'"commitInfo"' in line:
            action = json.loads(line)
            info = action.get("commitInfo")
            if isinstance(info, dict):
                return info
    return {}


def _data_commit(path: Path, version: int) -> dict[str, Any]:
    """The commit info of the latest commit up to `version` that changed the rows."""
    for candidate in range(version, -1, -1):
        info = _commit_info(path, candidate)
        if info is None:
            return {}
        if info.get("operation") not in _NO_DATA_CHANGE:
            return info
    return {}


def _size(table: DeltaTable) -> tuple[int, int]:
    """(rows, Parquet bytes) of the table's current files, from its add actions.

    Read as deltalake returns them (an arro3 table): `pa.table` over it would import pandas
    (pyarrow probes for a DataFrame first), ~0.3 s of `cpg status`'s start-up.
    """
    actions = table.get_add_actions()
    rows = sum(v or 0 for v in actions.column("num_records").to_pylist())
    size = sum(v or 0 for v in actions.column("size_bytes").to_pylist())
    return int(rows), int(size)


def _canonical(table: pa.Table | CanonicalTable, partition_by: str | None) -> CanonicalTable:
    """`table` ready to store: sorted and hashed (by partition for a partitioned table)."""
    if not isinstance(table, pa.Table):
        return table
    if partition_by is None:
        return canonicalize(table)
    ordered, pmap = partition(table, partition_by)
    return trusted(ordered, pmap.version)


def _metadata(
    data_version: str, fingerprint: str, run_id: str, partition_by: str | None
) -> dict[str, str]:
    """The cpg commit metadata of a data commit."""
    metadata = {META_DATA_VERSION: data_version, META_FINGERPRINT: fingerprint, META_RUN_ID: run_id}
    if partition_by is not None:
        metadata[META_PARTITION_BY] = partition_by
    return metadata


def _version_of(name: str, table: DeltaTable, metadata: Mapping[str, str]) -> StoredVersion:
    """The version `table` is at, just committed by us with `metadata`."""
    rows, size = _size(table)
    return StoredVersion(
        name=name,
        version=table.version(),
        data_version=metadata[META_DATA_VERSION],
        fingerprint=metadata[META_FINGERPRINT],
        run_id=metadata[META_RUN_ID],
        rows=rows,
        bytes=size,
        partition_by=metadata.get(META_PARTITION_BY),
    )


def _stored_version(name: str, path: Path, table: DeltaTable) -> StoredVersion:
    commit = _data_commit(path, table.version())
    rows, size = _size(table)

    def text(key: str) -> str | None:
        value = commit.get(key)
        return value if isinstance(value, str) else None

    return StoredVersion(
        name=name,
        version=table.version(),
        data_version=text(META_DATA_VERSION),
        fingerprint=text(META_FINGERPRINT),
        run_id=text(META_RUN_ID),
        rows=rows,
        bytes=size,
        partition_by=text(META_PARTITION_BY),
    )
