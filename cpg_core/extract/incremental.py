"""Incremental extraction: re-extract only files whose key changed, reuse every other file's rows.

A file's rows depend on its bytes and on nothing else but what its key holds (checked in
docs/evidence_tables.md, "Incremental extraction"): its path, its module name, ``is_package`` and
source root — which the scan derives from *other* files (``__init__.py`` files decide package
chains, and relative imports resolve against the module name), so adding an ``__init__.py``
changes the keys of the files it re-names — the `ExtractOptions`, and the extractor itself (a hash
of the source of ``cpg_core/extract/*.py``, the Python version and pyarrow's).

Flow: scan; hash every file; compare keys with the manifest of the previous run. Nothing changed:
return the previous tables memory-mapped, with their recorded partition maps (no extraction, sort
or hash). Otherwise extract the changed and new files through the Hamilton flow (parallel units
when many), drop the rows of changed and removed files from the previous tables (every evidence
table has a ``path`` column and is partitioned by it: `store.partitions`), append the fresh rows
sorted and hashed by file, update each table's partition map for those files only — the data
version is the map's, equal to a cold extraction's, with no sort or hash of the whole table —
and only then write the new state. A state that fails verification is never trusted: everything is rebuilt and `note`
says why.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.compute as pc

from cpg_core.extract.extract_state import (
    LoadedState,
    StateError,
    load_tables,
    read_manifest,
    save_state,
)
from cpg_core.extract.fsread import ReadFailure, read_source_file
from cpg_core.extract.model import (
    DEFAULT_UNIT_BYTES,
    DEFAULT_UNIT_MAX_FILES,
    ExtractOptions,
    FileInfo,
    ScanOptions,
    ScanResult,
)
from cpg_core.extract.progress import ExtractProgress, ProgressFn
from cpg_core.extract.scan import scan_with
from cpg_core.extract.schema import PARTITION_COLUMN, TABLE_NAMES, empty_tables
from cpg_core.extract.tables import SCAN_STAGE, by_file, rows_to_table, scan_problem_rows
from cpg_core.store import content_hash, hash_streams, partitions
from cpg_core.store.partitions import PartitionMap, key_text, partition, rows_outside

KEY_FORMAT = 1
NO_REUSE = ""  # the key of a file whose rows must be re-extracted every run (could not be read)
PATH_COLUMN = PARTITION_COLUMN
Partitioned = tuple[dict[str, pa.Table], dict[str, PartitionMap]]  # tables sorted by file, maps


@dataclass(frozen=True)
class IncrementalExtract:
    """The evidence tables and what this run did to produce them.

    `partitions` are the tables' partition maps by `path` (each file's rows sorted together
    and hashed: `store.partitions`) and `data_versions` their versions — what the Delta store
    records — so callers need not hash again.
    """

    tables: dict[str, pa.Table]
    partitions: dict[str, PartitionMap]
    files: int
    extracted: tuple[str, ...]
    reused: int
    removed: tuple[str, ...]
    seconds: float
    note: str | None = None

    @property
    def data_versions(self) -> dict[str, str]:
        return {name: pmap.version for name, pmap in self.partitions.items()}


@functools.cache
def extractor_version() -> str:
    """Hash of everything besides a file's own key that decides its rows: the extractor's code."""
    digest = hashlib.sha256()
    digest.update(f"{KEY_FORMAT}|{sys.implementation.name}|{sys.version}|{pa.__version__}".encode())
    for path in sorted(Path(__file__).parent.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


@functools.cache
def canonical_version() -> str:
    """Hash of the code that orders rows and computes data versions (`store.content_hash`,
    `store.hash_streams`, `store.partitions`)."""
    digest = hashlib.sha256(f"{hash_streams.HASH_FORMAT}|{partitions.PARTITION_FORMAT}|".encode())
    for module in (content_hash, hash_streams, partitions):
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()


def file_key(
    version: str,
    options: ExtractOptions,
    path: str,
    module: str,
    is_package: bool,
    source_root: str,
    sha256: str | None,
) -> str:
    """The key a file's rows were extracted under (`NO_REUSE` when its bytes are unknown)."""
    if sha256 is None:
        return NO_REUSE
    fields = [
        KEY_FORMAT,
        version,
        options.max_file_bytes,
        options.check_compile,
        path,
        module,
        is_package,
        source_root,
        sha256,
    ]
    return hashlib.sha256(msgspec.msgpack.encode(fields)).hexdigest()


def scan_keys(scan: ScanResult, options: ExtractOptions, version: str) -> dict[str, str]:
    """Every scanned file's key, hashing its bytes (files over the size limit are not read)."""
    root = Path(scan.root)
    keys: dict[str, str] = {}
    for info in scan.files:
        keys[info.path] = file_key(
            version,
            options,
            info.path,
            info.module,
            info.is_package,
            info.source_root,
            _content_sha256(root, info, options),
        )
    return keys


def extract_incremental(
    root: str | os.PathLike[str],
    *,
    state_dir: str | os.PathLike[str],
    workers: int = 1,
    progress: ProgressFn | None = None,
    max_file_bytes: int | None = None,
    check_compile: bool | None = None,
    unit_bytes: int = DEFAULT_UNIT_BYTES,
    unit_max_files: int = DEFAULT_UNIT_MAX_FILES,
    use_git: bool = True,
    verify_content: bool = False,
) -> IncrementalExtract:
    """Evidence of `root`, re-extracting only what changed since the state in `state_dir`.

    `verify_content=True` re-hashes every stored table even when its file looks untouched.
    """
    started = time.perf_counter()
    state_dir = Path(state_dir)
    scan_options = ScanOptions(
        max_file_bytes=max_file_bytes,
        check_compile=check_compile,
        unit_bytes=unit_bytes,
        unit_max_files=unit_max_files,
        use_git=use_git,
    )
    options = scan_options.extract_options()
    scan = scan_with(root, scan_options)
    version = extractor_version()
    keys = scan_keys(scan, options, version)
    previous, note = _previous_state(state_dir, version, verify_content)
    old_files = previous.manifest.files if previous is not None else {}
    reused = {p for p, k in keys.items() if k != NO_REUSE and old_files.get(p) == k}
    to_extract = tuple(info.path for info in scan.files if info.path not in reused)
    removed = tuple(sorted(set(old_files) - set(keys)))
    same_order = previous is not None and previous.manifest.canonical == canonical_version()
    # Directories the scan could not list are rows of their own, replaced on every run.
    scan_rows = sorted(scan_problem_rows(scan.problems))
    old_scan_rows = _scan_rows(previous)

    def result(
        tables: Mapping[str, pa.Table], maps: Mapping[str, PartitionMap]
    ) -> IncrementalExtract:
        return IncrementalExtract(
            tables=dict(tables),
            partitions=dict(maps),
            files=len(scan.files),
            extracted=to_extract,
            reused=len(reused),
            removed=removed,
            seconds=time.perf_counter() - started,
            note=note,
        )

    unchanged = not to_extract and not removed and scan_rows == old_scan_rows
    if previous is not None and same_order and unchanged:  # the stored tables as they are
        if progress is not None:
            progress(ExtractProgress(done=0, total=0))
        maps = {n: previous.manifest.tables[n].partitions for n in TABLE_NAMES}
        return result(previous.tables, maps)
    fresh = _extract_fresh(scan, to_extract, scan_options, workers, progress, scan_rows)
    dropped = (set(old_files) - reused) | {row[0] for row in old_scan_rows}
    tables, maps = _combine(previous, fresh, dropped, same_order)
    files = {p: keys[p] for p in reused}
    files.update(_fresh_keys(fresh[0]["files"], options, version))
    save_state(
        state_dir,
        extractor=version,
        canonical=canonical_version(),
        files=dict(sorted(files.items())),
        tables=tables,
        partitions=maps,
        previous=previous.manifest if previous is not None else None,
    )
    return result(tables, maps)


def _extract_fresh(
    scan: ScanResult,
    to_extract: tuple[str, ...],
    options: ScanOptions,
    workers: int,
    progress: ProgressFn | None,
    scan_rows: list[tuple[Any, ...]],
) -> Partitioned:
    """Evidence of the files to extract (none: empty tables), plus the scan's own error rows,
    each table sorted by file with its partition map (the workers sort and hash their units).
    Files that fit one unit are extracted in this process: starting worker processes (a
    fresh interpreter each) costs more than extracting them."""
    if to_extract:
        from cpg_core.extract.hamilton_exec import hamilton_extract_files

        selected = set(to_extract)
        size = sum(info.size or 0 for info in scan.files if info.path in selected)
        if size <= options.unit_bytes and len(selected) <= options.unit_max_files:
            workers = 1
        fresh = hamilton_extract_files(
            scan, to_extract, options=options, workers=workers, progress=progress, by_file=True
        )
        assert fresh.maps is not None, "units extracted by_file come with their maps"
        tables, maps = dict(fresh.tables), dict(fresh.maps)
    else:
        if progress is not None:
            progress(ExtractProgress(done=0, total=0))
        tables, maps = by_file(empty_tables())
    if scan_rows:
        found = rows_to_table("extract_errors", scan_rows)
        errors = pa.concat_tables([tables["extract_errors"], found])
        tables["extract_errors"], maps["extract_errors"] = partition(errors, PATH_COLUMN)
    return tables, maps


def _previous_state(
    state_dir: Path, version: str, verify_content: bool
) -> tuple[LoadedState | None, str | None]:
    """The verified previous state (None when absent or unusable) and a note saying why not."""
    try:
        manifest = read_manifest(state_dir)
        if manifest is None:
            return None, None
        if manifest.extractor != version:
            return (
                None,
                "the extractor changed since the cached extraction; re-extracted everything",
            )
        tables = load_tables(state_dir, manifest, verify_content=verify_content)
        if tables["files"].num_rows != len(manifest.files):
            raise StateError("the manifest and the files table list different files")
    except StateError as error:
        return None, f"extraction cache was corrupt ({error}); rebuilt"
    return LoadedState(manifest, tables), None


def _scan_rows(previous: LoadedState | None) -> list[tuple[Any, ...]]:
    """The previous run's scan problem rows (directories it could not list), sorted."""
    if previous is None:
        return []
    errors = previous.tables["extract_errors"]
    found = errors.filter(_call("equal", errors.column("stage"), pa.scalar(SCAN_STAGE)))
    return sorted(tuple(row.values()) for row in found.to_pylist())


def _combine(
    previous: LoadedState | None,
    fresh: Partitioned,
    dropped: set[str],
    same_order: bool,
) -> Partitioned:
    """Per table: the previous rows minus the `dropped` files' plus the `fresh` rows (sorted
    and hashed by file already), and its partition map.

    A table whose map is unchanged (an edit that changed nothing this table holds, or a file
    with no rows in it) keeps its stored table. Previous tables hashed by other code
    (`same_order` false) are partitioned and hashed again, whole.
    """
    gone = [key_text(path) for path in sorted(dropped)]
    tables: dict[str, pa.Table] = {}
    maps: dict[str, PartitionMap] = {}
    fresh_tables, fresh_maps = fresh
    for name in TABLE_NAMES:
        ordered, fresh_map = fresh_tables[name], fresh_maps[name]
        if previous is None:
            tables[name], maps[name] = ordered, fresh_map
            continue
        old = previous.tables[name]
        kept = rows_outside(old, PATH_COLUMN, gone) if gone else old
        if not same_order:
            tables[name], maps[name] = partition(pa.concat_tables([kept, ordered]), PATH_COLUMN)
            continue
        old_map = previous.manifest.tables[name].partitions
        new_map = old_map.replaced(gone, fresh_map)
        if new_map == old_map:
            tables[name], maps[name] = old, old_map
            continue
        tables[name], maps[name] = pa.concat_tables([kept, ordered]), new_map
    return tables, maps


def _call(name: str, *args: Any, options: pc.FunctionOptions | None = None) -> Any:
    """`pyarrow.compute` by name: its kernels are generated at import time, invisible to pyright."""
    return pc.call_function(name, list(args), options)


def _fresh_keys(
    files: pa.Table, options: ExtractOptions, version: str
) -> Iterable[tuple[str, str]]:
    """Keys of freshly extracted files from their ``files`` rows: the bytes actually extracted.

    Keying by the extracted bytes' hash (not the pre-scan hash) keeps the state right when a file
    changed between hashing and extraction.
    """
    columns = [
        files.column(c).to_pylist()
        for c in ("path", "module", "is_package", "source_root", "sha256")
    ]
    for path, module, is_package, source_root, sha in zip(*columns, strict=True):
        yield path, file_key(version, options, path, module, is_package, source_root, sha)


def _content_sha256(root: Path, info: FileInfo, options: ExtractOptions) -> str | None:
    """sha256 of the file's bytes; None when it cannot be read or is over the size limit."""
    if info.size is None or info.size > options.max_file_bytes:
        return None
    try:
        data = read_source_file(root / info.os_path, options.max_file_bytes, root=root)
    except ReadFailure:
        return None
    return hashlib.sha256(data).hexdigest()


__all__ = [
    "IncrementalExtract",
    "canonical_version",
    "extract_incremental",
    "extractor_version",
    "file_key",
    "scan_keys",
]
