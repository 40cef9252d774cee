"""What the kill harness checks in a store: consistency after a kill, identity after recovery.

`inspect_store` reads everything a build leaves in a store and sorts what it finds into
*problems* (a promise is broken: a table that does not read back as its recorded data version, a
cache that would be trusted although it is wrong, a lock still held) and *statuses* of each cache
(`valid`, `absent`, or `invalid: <why>` — invalid is fine as long as the build detects it, which
is what the status records: each status comes from the very check the build runs).
`Reference` is what a clean build of the same inputs stored; `compare` lists every difference.
"""

from __future__ import annotations

import contextlib
import fcntl
import math
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import msgspec
import pyarrow as pa
import pyarrow.compute as pc
from deltalake import DeltaTable

from cpg_core.execute.cache import check_cache_dir
from cpg_core.execute.driver_cache import CACHE_DIR
from cpg_core.extract import extract_state
from cpg_core.extract.extract_state import StateError, load_tables, read_manifest
from cpg_core.extract.incremental import NO_REUSE, extractor_version, scan_keys
from cpg_core.extract.model import ScanOptions
from cpg_core.extract.scan import scan_repo
from cpg_core.extract.schema import TABLE_NAMES
from cpg_core.plan.compile_cache import CompileCache
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.store import history
from cpg_core.store.content_hash import content_hash
from cpg_core.store.delta_store import RESERVED_PREFIX, DeltaStore
from cpg_core.store.events import EVENTS_TABLE, decode_payload
from cpg_core.store.runs import load_state

VALID: Final = "valid"
ABSENT: Final = "absent"
EXTRACT_DIR: Final = Path("_cpg") / "extract"
COMPILE_CACHE: Final = Path("_cpg") / "compile_cache.msgpack"
DURATIONS: Final = Path("_cpg") / "durations.msgpack"
# what belongs in a `_delta_log`: commits, checkpoints and their pointer
_LOG_FILE: Final = re.compile(
    r"\d{20}\.json|\d{20}\.checkpoint(\.\d+\.\d+)?\.parquet|_last_checkpoint"
)

# Compiles the project against a compile cache file (the harness binds the project).
CompileWith = Callable[[Path], ExecutionPlan]


@dataclass
class Inspection:
    """Everything found in one store."""

    problems: list[str] = field(default_factory=list)
    tables: dict[str, str] = field(default_factory=dict)  # name → latest data version
    partial_tables: list[str] = field(default_factory=list)  # directories without a commit
    orphan_files: int = 0  # data files no version references (a write killed mid-way)
    staged_commits: list[str] = field(default_factory=list)  # commit files never put in place
    run_state: str = ABSENT
    extract_state: str = ABSENT
    compile_cache: str = ABSENT
    hamilton_cache: str = ABSENT
    durations: str = ABSENT
    events_runs: int = 0
    temp_files: list[str] = field(default_factory=list)
    plan_signature: str | None = None
    state_datasets: dict[str, tuple[str, str]] = field(default_factory=dict)
    extract_files: dict[str, str] = field(default_factory=dict)
    extract_versions: dict[str, str] = field(default_factory=dict)

    def statuses(self) -> dict[str, str]:
        return {
            "run_state": self.run_state,
            "extract_state": self.extract_state,
            "compile_cache": self.compile_cache,
            "hamilton_cache": self.hamilton_cache,
            "durations": self.durations,
        }


def inspect_store(
    store: Path,
    *,
    repo: Path,
    reference_extract: dict[str, pa.Table] | None,
    compile_with: CompileWith | None,
    reference_plan: ExecutionPlan | None,
) -> Inspection:
    """Check every table and cache of `store` (read-only: caches are checked on copies)."""
    found = Inspection()
    _check_tables(store, found)
    _check_run_state(store, found)
    _check_extract_state(store, repo, reference_extract, found)
    _check_compile_cache(store, compile_with, reference_plan, found)
    _check_hamilton_cache(store, found)
    _check_durations(store, found)
    _check_locks(store, found)
    found.temp_files = sorted(
        str(p.relative_to(store))
        for p in store.rglob("*")
        if p.is_file()
        and (p.name.endswith(".tmp") or (p.name.startswith(".") and p.parent != store))
    )
    return found


# ----------------------------------------------------------------------------- tables


def _check_tables(store: Path, found: Inspection) -> None:
    tables_dir = store / "tables"
    if not tables_dir.is_dir():
        return
    delta = DeltaStore(store)
    for directory in sorted(tables_dir.iterdir()):
        name = directory.name
        if not DeltaTable.is_deltatable(str(directory)):
            found.partial_tables.append(name)
            found.orphan_files += sum(1 for p in directory.iterdir() if p.is_file())
            continue
        try:
            latest = DeltaTable(str(directory)).version()
        except Exception as error:  # the log of a committed table must always open
            found.problems.append(f"table {name}: Delta log unreadable: {error}")
            continue
        referenced: set[str] = set()
        for version in range(latest + 1):
            try:
                actions = DeltaTable(str(directory), version=version).get_add_actions()
                referenced.update(pa.table(actions).column("path").to_pylist())
                rows = delta.read(name, version)
                stored = delta.info(name, version)
            except Exception as error:
                found.problems.append(f"table {name} v{version}: unreadable: {error}")
                continue
            assert stored is not None
            if name == EVENTS_TABLE:
                continue
            if stored.data_version is None:
                found.problems.append(f"table {name} v{version}: no recorded data version")
            elif content_hash(rows) != stored.data_version:
                found.problems.append(
                    f"table {name} v{version}: content hash differs from its recorded data "
                    f"version {stored.data_version[:12]}"
                )
            elif rows.num_rows != stored.rows:
                found.problems.append(f"table {name} v{version}: row count differs")
            if version == latest and not name.startswith(RESERVED_PREFIX):
                found.tables[name] = stored.data_version or ""
        # data files no version references: a write killed before its commit (uploads still
        # under their staging name `….parquet#N` included)
        on_disk = {p.name for p in directory.iterdir() if p.is_file()}
        found.orphan_files += len(on_disk - {Path(f).name for f in referenced})
        found.staged_commits += [
            f"{name}/_delta_log/{p.name}"
            for p in (directory / "_delta_log").iterdir()
            if not _LOG_FILE.fullmatch(p.name)
        ]
        if name == EVENTS_TABLE:
            _check_events(delta, found)


def _check_events(delta: DeltaStore, found: Inspection) -> None:
    """Every payload decodes; each run's events are all there (one start, one end)."""
    events = delta.read(EVENTS_TABLE)
    per_run: dict[str, list[str]] = {}
    for run_id, kind, payload in zip(
        events.column("run_id").to_pylist(),
        events.column("event").to_pylist(),
        events.column("payload").to_pylist(),
        strict=True,
    ):
        try:
            decode_payload(payload)
        except msgspec.DecodeError as error:
            found.problems.append(f"events: payload of run {run_id[:12]} does not decode: {error}")
        per_run.setdefault(run_id, []).append(kind)
    for run_id, kinds in per_run.items():
        ends = kinds.count("run_finish") + kinds.count("run_error")
        if kinds.count("run_start") != 1 or ends != 1:
            found.problems.append(f"events: run {run_id[:12]} is incomplete: {sorted(set(kinds))}")
    found.events_runs = len(per_run)


# ----------------------------------------------------------------------------- caches


def _check_run_state(store: Path, found: Inspection) -> None:
    loaded = load_state(store)
    if loaded.state is None:
        found.run_state = f"invalid: {loaded.warning}" if loaded.warning else ABSENT
        return
    found.run_state = VALID
    found.plan_signature = loaded.state.plan_signature
    delta = DeltaStore(store)
    for name, dataset in loaded.state.datasets.items():
        found.state_datasets[name] = (dataset.data_version, dataset.fingerprint)
        try:
            stored = delta.info(name, dataset.delta_version)
        except Exception as error:
            found.problems.append(f"run state names {name} v{dataset.delta_version}: {error}")
            continue
        if stored is None or stored.data_version != dataset.data_version:
            found.problems.append(
                f"run state says {name} v{dataset.delta_version} has data version "
                f"{dataset.data_version[:12]}; the store says "
                f"{stored.data_version[:12] if stored and stored.data_version else None}"
            )


def _check_extract_state(
    store: Path, repo: Path, reference: dict[str, pa.Table] | None, found: Inspection
) -> None:
    """The build's own verification (content re-hashed); then: would it reuse wrong rows?"""
    state_dir = store / EXTRACT_DIR
    try:
        manifest = read_manifest(state_dir)
        if manifest is None:
            return
        if manifest.extractor != extractor_version():
            found.extract_state = "invalid: other extractor version"
            return
        tables = load_tables(state_dir, manifest, verify_content=True)
        if tables["files"].num_rows != len(manifest.files):
            raise StateError("the manifest and the files table list different files")
    except StateError as error:
        found.extract_state = f"invalid: {error}"
        return
    found.extract_state = VALID
    found.extract_files = dict(manifest.files)
    found.extract_versions = {n: t.data_version for n, t in manifest.tables.items()}
    if reference is None:
        return
    options = ScanOptions().extract_options()
    keys = scan_keys(scan_repo(repo), options, extractor_version())
    reused = sorted(p for p, k in keys.items() if k != NO_REUSE and manifest.files.get(p) == k)
    paths = pa.array(reused, type=pa.string())
    for name in TABLE_NAMES:
        mine = _rows_of(tables[name], paths)
        truth = _rows_of(reference[name], paths)
        if content_hash(mine) != content_hash(truth):
            found.problems.append(
                f"extraction state would reuse wrong {name} rows for {len(reused)} file(s)"
            )


def _rows_of(table: pa.Table, paths: pa.Array) -> pa.Table:
    mask = pc.call_function("is_in", [table.column("path")], pc.SetLookupOptions(paths))
    return table.filter(mask)


def read_extract_tables(store: Path) -> dict[str, pa.Table]:
    """The extraction state's tables, read into memory (not mapped: the files go away)."""
    state_dir = store / EXTRACT_DIR
    manifest = read_manifest(state_dir)
    if manifest is None:
        raise StateError(f"no extraction state in {state_dir}")
    tables: dict[str, pa.Table] = {}
    for name, entry in manifest.tables.items():
        with pa.OSFile(str(state_dir / entry.file), "rb") as source:
            tables[name] = pa.ipc.open_file(source).read_all()
    return tables


def _check_compile_cache(
    store: Path,
    compile_with: CompileWith | None,
    reference: ExecutionPlan | None,
    found: Inspection,
) -> None:
    """Loaded as the compiler loads it; if trusted, a compile from it must equal a clean one."""
    path = store / COMPILE_CACHE
    if not path.exists():
        return
    cache = CompileCache(path)
    if cache.rejected is not None:
        found.compile_cache = f"invalid: {cache.rejected}"
        return
    found.compile_cache = VALID
    if compile_with is None or reference is None:
        return
    with tempfile.TemporaryDirectory(prefix="kill-cc-") as scratch:
        copy = Path(scratch) / COMPILE_CACHE
        copy.parent.mkdir(parents=True)
        shutil.copyfile(path, copy)
        plan = compile_with(Path(scratch))
    for difference in plan_differences(plan, reference):
        found.problems.append(f"compile cache trusted but wrong: {difference}")


def plan_digest(plan: ExecutionPlan) -> dict[str, object]:
    """What a compile derives per view (the parts the compile cache feeds)."""
    digest: dict[str, object] = {"signature": plan.signature}
    for name, task in sorted(plan.tasks.items()):
        schema = task.output_schema.to_string() if task.output_schema is not None else None
        digest[name] = (
            task.inputs,
            {k: tuple(v) for k, v in sorted(task.required_columns.items())},
            schema,
            task.fingerprint,
            task.admitted,
            repr(sorted(task.lineage.items())),
            tuple(p.format() for p in task.problems),
        )
    return digest


def plan_differences(plan: ExecutionPlan, reference: ExecutionPlan) -> list[str]:
    mine, truth = plan_digest(plan), plan_digest(reference)
    return [k for k in sorted(set(mine) | set(truth)) if mine.get(k) != truth.get(k)]


def _check_hamilton_cache(store: Path, found: Inspection) -> None:
    """The build's own check (`PRAGMA quick_check` + schema), on a copy of the cache."""
    source = store / CACHE_DIR
    if not source.is_dir():
        return
    with tempfile.TemporaryDirectory(prefix="kill-hc-") as scratch:
        copy = Path(scratch) / "cache"
        shutil.copytree(source, copy)
        if not (copy / "metadata_store.db").exists():
            return
        warning = check_cache_dir(copy)
    found.hamilton_cache = f"invalid: {warning}" if warning else VALID


def _check_durations(store: Path, found: Inspection) -> None:
    path = store / DURATIONS
    if not path.exists():
        return
    try:
        data = msgspec.msgpack.decode(path.read_bytes(), type=history._History)
    except (OSError, msgspec.DecodeError) as error:
        found.durations = f"invalid: {error}"  # `load_durations` ignores such a file
        return
    bad = [f for f, vs in data.durations.items() if any(not math.isfinite(v) or v < 0 for v in vs)]
    if bad:
        found.problems.append(f"durations history holds impossible values for {bad[:3]}")
    found.durations = VALID


def _check_locks(store: Path, found: Inspection) -> None:
    """A dead build never keeps a lock (flock dies with its holder)."""
    for path in (store / ".lock", store / EXTRACT_DIR / extract_state.LOCK):
        if not path.exists():
            continue
        fd = os.open(path, os.O_RDONLY)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                found.problems.append(f"lock {path.relative_to(store)} is still held")
            else:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)


# ----------------------------------------------------------------------------- reference


@dataclass(frozen=True)
class Reference:
    """What a clean build of the final inputs left (data versions only: Delta versions vary)."""

    tables: dict[str, str]
    plan_signature: str | None
    state_datasets: dict[str, tuple[str, str]]
    extract_files: dict[str, str]
    extract_versions: dict[str, str]

    @classmethod
    def of(cls, found: Inspection) -> Reference:
        return cls(
            tables=dict(found.tables),
            plan_signature=found.plan_signature,
            state_datasets=dict(found.state_datasets),
            extract_files=dict(found.extract_files),
            extract_versions=dict(found.extract_versions),
        )


def compare(found: Inspection, reference: Reference) -> list[str]:
    """Every way a recovered store differs from the clean build's (empty = identical)."""
    differences: list[str] = []
    for kind, mine, truth in (
        ("table", found.tables, reference.tables),
        ("run state dataset", found.state_datasets, reference.state_datasets),
        ("extraction state file", found.extract_files, reference.extract_files),
        ("extraction state table", found.extract_versions, reference.extract_versions),
    ):
        for name in sorted(set(mine) | set(truth)):
            if mine.get(name) != truth.get(name):
                differences.append(
                    f"{kind} {name}: {_short(mine.get(name))} != clean {_short(truth.get(name))}"
                )
    if found.plan_signature != reference.plan_signature:
        differences.append("plan signature differs from the clean build's")
    return differences


def _short(value: object) -> str:
    if isinstance(value, str):
        return value[:12]
    if isinstance(value, tuple):
        return "/".join(_short(v) for v in value)
    return repr(value)
