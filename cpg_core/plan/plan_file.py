"""A compiled plan as a file: its records encode themselves.

Loading Dagster definitions must not compile (that parses every view and plans it in
DataFusion), so the Dagster component writes the compiled plan once and rebuilds it from this
file on every load. The plan's records (`Task`, `Dataset`, `TaskCost`, `Schedule`,
`SingularTest`, `Problem`) are msgspec structs: the file is their own encoding (Arrow schemas as
IPC bytes), wrapped with a format number, the cpg version, the signature and a digest of the view
files. Only the task graph is re-derived (cheap), and the project comes from the loader, so a
file written at image build time loads wherever the project is.

The file is JSON (bytes as base64), because Dagster's code-server state mode keeps state as
text. It is checked on load: its format and cpg version must match, and the signature recomputed
from the records must equal the stored one (the signature covers the sqlglot version), else
`PlanFileError` says to refresh. `views_digest` tells a loader that the view files changed since.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import pyarrow as pa

import cpg_core
from cpg_core.plan.assembly import assemble_plan, signature_of
from cpg_core.plan.catalog import Dataset
from cpg_core.plan.compile_cache import schema_from_bytes, schema_to_bytes
from cpg_core.plan.costs import TaskCost
from cpg_core.plan.execution_plan import ExecutionPlan, Task
from cpg_core.plan.schedule import Schedule
from cpg_core.plan.singular_tests import SingularTest
from cpg_core.problems import Problem
from cpg_core.project import Project
from cpg_core.store.atomic import atomic_write
from cpg_core.views.loader import builtin_views_dir

PLAN_FILE_FORMAT = 2


class PlanFileError(ValueError):
    """The plan file is missing, unreadable, from another version, or does not verify."""


class PlanFile(msgspec.Struct, frozen=True, kw_only=True):
    """A plan's records and what checks them (everything but its project and graph)."""

    format: int
    cpg_version: str
    signature: str
    views_digest: str
    tasks: dict[str, Task]
    datasets: dict[str, Dataset]
    problems: tuple[Problem, ...]
    costs: dict[str, TaskCost]
    schedule: Schedule
    singular_tests: tuple[SingularTest, ...] = ()
    cache_note: str | None = None

    def plan(self, project: Project, *, verify: bool = True) -> ExecutionPlan:
        """The `ExecutionPlan` of these records for `project`. `verify` recomputes the signature
        and raises `PlanFileError` when it differs (damage, or other library versions)."""
        if verify:
            admitted = {name for name, task in self.tasks.items() if task.admitted}
            found = signature_of(self.tasks, self.datasets, admitted)
            if found != self.signature:
                raise PlanFileError(
                    f"plan file does not verify: signature {found[:12]} != stored "
                    f"{self.signature[:12]} (damaged, or written by other library versions)"
                )
        return assemble_plan(
            project,
            tasks=self.tasks,
            datasets=self.datasets,
            problems=self.problems,
            costs=self.costs,
            schedule=self.schedule,
            signature=self.signature,
            cache_note=self.cache_note,
            singular_tests=self.singular_tests,
        )


class _Header(msgspec.Struct):
    format: int = 0
    cpg_version: str = ""


def _encode_hook(value: Any) -> Any:
    if isinstance(value, pa.Schema):
        return schema_to_bytes(value)
    if isinstance(value, MappingProxyType):
        return dict(value)
    raise NotImplementedError(f"cannot encode {type(value).__name__} in a plan file")


def _decode_hook(kind: type, value: Any) -> Any:
    if kind is pa.Schema and isinstance(value, str | bytes):
        return schema_from_bytes(base64.b64decode(value) if isinstance(value, str) else value)
    raise NotImplementedError(f"cannot decode {kind} in a plan file")


_ENCODER = msgspec.json.Encoder(enc_hook=_encode_hook, order="deterministic")
_DECODER = msgspec.json.Decoder(PlanFile, dec_hook=_decode_hook)


def plan_file(plan: ExecutionPlan, *, digest: str | None = None) -> PlanFile:
    """The file record of `plan` (`digest` defaults to `views_digest(plan.project)`)."""
    return PlanFile(
        format=PLAN_FILE_FORMAT,
        cpg_version=cpg_core.__version__,
        signature=plan.signature,
        views_digest=digest if digest is not None else views_digest(plan.project),
        tasks=dict(plan.tasks),
        datasets=dict(plan.datasets),
        problems=plan.problems,
        costs=dict(plan.costs),
        schedule=plan.schedule,
        singular_tests=plan.singular_tests,
        cache_note=plan.cache_note,
    )


def encode_plan(plan: ExecutionPlan, *, digest: str | None = None) -> bytes:
    """Deterministic JSON bytes of `plan`'s file record."""
    return _ENCODER.encode(plan_file(plan, digest=digest))


def decode_plan_file(data: bytes | str) -> PlanFile:
    """Parse a plan file; `PlanFileError` when it is not one, or from another format or version."""
    try:
        header = msgspec.json.decode(data, type=_Header)
    except msgspec.DecodeError as error:
        raise PlanFileError(f"not a cpg plan file: {error}") from error
    if header.format != PLAN_FILE_FORMAT or header.cpg_version != cpg_core.__version__:
        raise PlanFileError(
            f"plan file format {header.format} from cpg {header.cpg_version or '?'}; "
            f"this cpg {cpg_core.__version__} reads format {PLAN_FILE_FORMAT}"
        )
    try:
        return _DECODER.decode(data)
    except (msgspec.DecodeError, ValueError) as error:
        raise PlanFileError(f"damaged plan file: {error}") from error


def write_plan(plan: ExecutionPlan, path: Path) -> PlanFile:
    """Write `plan`'s file atomically (the store's atomic write: a crash leaves the old file)."""
    record = plan_file(plan)
    atomic_write(path, _ENCODER.encode(record))
    return record


def read_plan_file(path: Path) -> PlanFile:
    """Read and parse a plan file (`PlanFileError` when absent or not readable)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise PlanFileError(f"cannot read plan file {path}: {error}") from error
    return decode_plan_file(data)


def views_digest(project: Project) -> str:
    """sha256 over the relative path and bytes of every view and test file the project loads."""
    digest = hashlib.sha256()
    builtin = [builtin_views_dir()] if project.include_cpg else []
    folders = [*project.view_dirs, *project.test_dirs, *builtin]
    for folder in folders:
        digest.update(f"\0dir:{folder.name}\0".encode())
        if not folder.is_dir():
            continue
        for file in sorted(folder.rglob("*.sql")):
            digest.update(f"\0{file.relative_to(folder).as_posix()}\0".encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()
