"""Build settings: execution modes and the executor configuration, the typed public API of how a
build runs. A light module (no Hamilton, DataFusion or deltalake): the CLI defines its options from
it without importing the executor.

Why typed: the system this replaces took loose dicts, so a typo ran serially without a word.
`ExecutorConfig` validates itself on construction and is hashable and msgpack/JSON-encodable.

It is the one definition of a build's settings: every field carries its description, and the
CLI's options, the Dagster resource's fields and the Dagster component's `execution` block are
derived from `setting_fields()` (a test checks that each offers exactly these settings).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import msgspec

from cpg_core.store.lock import DEFAULT_LOCK_TIMEOUT_S

ExecutorKind = Literal["threads", "processes", "ray", "dask"]


class ExecutionMode(enum.StrEnum):
    """How ready tasks are run.

    SERIAL: one at a time in plan priority order (deterministic). PARALLEL: up to `max_tasks`
    at once on a local executor (`executor` threads or processes). REMOTE: like PARALLEL, but tasks
    whose planned cost is at least `remote_threshold_s` go to `executor` (ray or dask).
    """

    SERIAL = "serial"
    PARALLEL = "parallel"
    REMOTE = "remote"


class ExecutorConfigError(ValueError):
    """The executor configuration is inconsistent (the message says which field and why)."""


class ExecutorConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What runs the tasks: mode, executor, concurrency, remote routing threshold, limits.

    `target_partitions` is DataFusion's per-query parallelism; None means all cores when one
    task runs at a time and ``cores // max_tasks`` when several do (docs/dependencies.md#datafusion-uses-every-core: DataFusion already
    uses every core per query, so concurrent queries must share them).

    `memory_limit_mb` caps what a run's queries may hold (DataFusion's fair spill pool, split
    evenly between the tasks that run at once): sorts, aggregates and joins spill to temporary
    files beyond it, and a query that still cannot fit fails naming its view instead of the
    process being killed. None: no limit.
    """

    mode: Annotated[ExecutionMode, msgspec.Meta(description="serial | parallel | remote")] = (
        ExecutionMode.SERIAL
    )
    executor: Annotated[
        ExecutorKind,
        msgspec.Meta(description="threads | processes (parallel mode), ray | dask (remote mode)"),
    ] = "threads"
    max_tasks: Annotated[
        int, msgspec.Meta(description="views at once in parallel and remote mode")
    ] = 2
    remote_threshold_s: Annotated[
        float,
        msgspec.Meta(description="remote mode: planned seconds from which a view runs remotely"),
    ] = 1.0
    target_partitions: Annotated[
        int | None,
        msgspec.Meta(
            description="DataFusion partitions per query (default: the cores shared by the "
            "tasks running at once)"
        ),
    ] = None
    memory_limit_mb: Annotated[
        int | None,
        msgspec.Meta(
            description="MiB the views' queries may hold (split between tasks running at once); "
            "a view that cannot fit fails by name instead of the process being killed"
        ),
    ] = None
    lock_timeout_s: Annotated[
        float,
        msgspec.Meta(
            description="seconds a build waits while another build holds the store, then fails "
            "with 'store is busy' (0: fail at once; $CPG_STORE_LOCK_TIMEOUT overrides)"
        ),
    ] = DEFAULT_LOCK_TIMEOUT_S

    def __post_init__(self) -> None:
        if self.max_tasks < 1:
            raise ExecutorConfigError(f"max_tasks must be >= 1, not {self.max_tasks}")
        if self.remote_threshold_s < 0:
            raise ExecutorConfigError("remote_threshold_s must be >= 0")
        if self.target_partitions is not None and self.target_partitions < 1:
            raise ExecutorConfigError("target_partitions must be >= 1")
        if self.lock_timeout_s < 0:
            raise ExecutorConfigError(f"lock_timeout_s must be >= 0, not {self.lock_timeout_s}")
        if self.memory_limit_mb is not None and self.memory_limit_mb < 1:
            raise ExecutorConfigError(f"memory_limit_mb must be >= 1, not {self.memory_limit_mb}")
        if self.mode is ExecutionMode.PARALLEL and self.executor not in ("threads", "processes"):
            raise ExecutorConfigError(
                f"parallel mode runs on local threads or processes, not {self.executor!r} "
                "(use mode='remote' for ray/dask)"
            )
        if self.mode is ExecutionMode.REMOTE and self.executor not in ("ray", "dask", "processes"):
            raise ExecutorConfigError(
                f"remote mode needs executor 'ray', 'dask' or 'processes', not {self.executor!r}"
            )

    @property
    def concurrency(self) -> int:
        """How many tasks may run at once."""
        return 1 if self.mode is ExecutionMode.SERIAL else self.max_tasks

    def task_memory_bytes(self) -> int | None:
        """Each running task's share of the memory limit, in bytes (None: unlimited)."""
        if self.memory_limit_mb is None:
            return None
        return self.memory_limit_mb * 1024 * 1024 // self.concurrency

    def partitions(self) -> int:
        """DataFusion target partitions per query for this configuration."""
        if self.target_partitions is not None:
            return self.target_partitions
        cores = os.cpu_count() or 1
        return max(1, cores // self.concurrency)


SERIAL = ExecutorConfig()


class SettingField(msgspec.Struct, frozen=True):
    """One build setting as a user sees it: its name, default and description."""

    name: str
    default: Any
    description: str


def setting_fields() -> tuple[SettingField, ...]:
    """Every field of `ExecutorConfig` with its default and description, in declaration order
    (what the CLI, the Dagster resource and the component offer)."""
    info = msgspec.inspect.type_info(ExecutorConfig)
    assert isinstance(info, msgspec.inspect.StructType)
    out = []
    for field in info.fields:
        meta = field.type if isinstance(field.type, msgspec.inspect.Metadata) else None
        extra = (meta.extra_json_schema or {}) if meta is not None else {}
        default = field.default.value if isinstance(field.default, enum.Enum) else field.default
        out.append(SettingField(field.name, default, str(extra.get("description", ""))))
    return tuple(out)


def setting(name: str) -> SettingField:
    """The build setting `name` (KeyError for a name `ExecutorConfig` does not have)."""
    for field in setting_fields():
        if field.name == name:
            return field
    raise KeyError(name)


def config_from(values: Mapping[str, Any]) -> ExecutorConfig:
    """An `ExecutorConfig` from setting values (None means "the default"; remote mode defaults
    to the dask executor); raises `ExecutorConfigError` naming the bad setting."""
    fields = {k: v for k, v in values.items() if v is not None}
    if fields.get("mode") == ExecutionMode.REMOTE and "executor" not in fields:
        fields["executor"] = "dask"
    try:
        return msgspec.convert(fields, ExecutorConfig)
    except msgspec.ValidationError as error:
        raise ExecutorConfigError(str(error)) from error
