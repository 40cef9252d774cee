"""msgspec contracts for the plan's and the runs' artifacts. Changing a field is a contract
change: the goldens under tests/golden/artifacts and the exported JSON Schemas must change with it.

Plan artifacts: `PlanScheduleArtifact`, `PlanValidationArtifact`, `SemanticRegistryArtifact`.
Run artifact: `RunManifest` (what one build ran, where, why, and what it produced), written by
`cpg_core.execute.build` (and exported by `cpg_core.execute`).
"""

from __future__ import annotations

import msgspec

from cpg_core.problems import Problem

SCHEMA_VERSION = 1


class _Contract(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Base: immutable, keyword-only, strict about unknown fields."""


class PlanScheduleArtifact(
    _Contract, frozen=True, kw_only=True, tag="plan_schedule", tag_field="kind"
):
    """The schedule of the plan that runs (after pruning) and of the full plan's signature."""

    signature: str
    reduced_signature: str
    ordered_tasks: tuple[str, ...]
    generations: tuple[tuple[str, ...], ...]
    critical_path: tuple[str, ...]
    critical_path_length: float
    task_costs: dict[str, float]
    cost_sources: dict[str, str]
    bottom_level_costs: dict[str, float]
    top_level_costs: dict[str, float]
    slack: dict[str, float]
    read_from_store: tuple[str, ...] = ()


class TaskValidation(_Contract, frozen=True, kw_only=True):
    """Validation of one view: admitted or not, and why."""

    name: str
    path: str | None
    admitted: bool
    missing_tables: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()
    type_errors: tuple[str, ...] = ()
    errors: tuple[Problem, ...] = ()


class EdgeValidation(_Contract, frozen=True, kw_only=True):
    """Validation of one input edge (dataset → view): does the input exist, with the columns?"""

    source: str
    target: str
    source_exists: bool
    required_columns: tuple[str, ...] = ()
    missing_columns: tuple[str, ...] = ()


class ValidationCounts(_Contract, frozen=True, kw_only=True):
    """Totals, for dashboards and exit codes."""

    tasks: int
    admitted: int
    rejected: int
    problems: int
    by_code: dict[str, int]


class PlanValidationArtifact(
    _Contract, frozen=True, kw_only=True, tag="plan_validation", tag_field="kind"
):
    """Every problem of the compile, per task and per edge."""

    signature: str
    valid: bool
    tasks: tuple[TaskValidation, ...]
    edges: tuple[EdgeValidation, ...]
    problems: tuple[Problem, ...]
    counts: ValidationCounts


class ColumnInfo(_Contract, frozen=True, kw_only=True):
    """One output column and its Arrow type."""

    name: str
    type: str


class SemanticEntry(_Contract, frozen=True, kw_only=True):
    """A public output: a view with a semantic contract."""

    view: str
    description: str
    layer: str | None = None
    entity: str | None = None
    grain: str | None = None
    keys: tuple[str, ...] = ()
    entity_keys: tuple[str, ...] = ()
    join_keys: tuple[str, ...] = ()
    version: str | None = None
    stability: str | None = None
    owners: tuple[str, ...] = ()
    columns: tuple[ColumnInfo, ...] = ()


class SemanticRegistryArtifact(
    _Contract, frozen=True, kw_only=True, tag="semantic_registry", tag_field="kind"
):
    """The registry of the plan's public outputs."""

    signature: str
    entries: tuple[SemanticEntry, ...]


MANIFEST_FORMAT = 1
"""Version of the `RunManifest` layout (the envelope's `schema_version` versions the envelope)."""


class RoutingDecision(_Contract, frozen=True, kw_only=True):
    """Where one task ran and why (e.g. executor 'dask', reason 'cost 3.2 s >= threshold 1 s')."""

    task: str
    executor: str
    reason: str


class OutputVersion(_Contract, frozen=True, kw_only=True):
    """A persisted output as stored by this run (`written` is false when its rows were
    unchanged and no Delta commit was made)."""

    name: str
    data_version: str
    delta_version: int
    fingerprint: str
    rows: int
    bytes: int
    written: bool


class CacheLineage(_Contract, frozen=True, kw_only=True):
    """Why a view was or was not recomputed: its Hamilton cache key and what went into it."""

    view: str
    cache_key: str | None
    hit: bool
    fingerprint: str
    upstream_versions: dict[str, str]


class RunManifest(_Contract, frozen=True, kw_only=True, tag="run_manifest", tag_field="kind"):
    """One build, linked to the plan's schedule and validation artifacts by their IDs.

    Deterministic for equal inputs except `run_id` (a fresh uuid per run) and `duration_s`
    (wall time); in parallel and remote modes also the order of `submission_order` and
    `routing` (they follow completion order).
    """

    format: int = MANIFEST_FORMAT
    run_id: str
    plan_signature: str
    reduced_signature: str
    schedule_artifact_id: str
    validation_artifact_id: str
    mode: str
    executor: str
    max_tasks: int
    selected: tuple[str, ...] | None
    read_from_store: tuple[str, ...]
    submission_order: tuple[str, ...]
    routing: tuple[RoutingDecision, ...]
    outputs: tuple[OutputVersion, ...]
    inputs: dict[str, str]
    cache: tuple[CacheLineage, ...]
    executed: tuple[str, ...]
    duration_s: float
    warnings: tuple[str, ...] = ()


Artifact = PlanScheduleArtifact | PlanValidationArtifact | SemanticRegistryArtifact | RunManifest


class ArtifactEnvelope(_Contract, frozen=True, kw_only=True):
    """A tagged artifact with its deterministic ID (sha256 of the artifact's canonical msgpack)."""

    artifact_id: str
    schema_version: int = SCHEMA_VERSION
    artifact: Artifact


CONTRACTS: dict[str, type[msgspec.Struct]] = {
    "artifact_envelope": ArtifactEnvelope,
    "plan_schedule": PlanScheduleArtifact,
    "plan_validation": PlanValidationArtifact,
    "run_manifest": RunManifest,
    "semantic_registry": SemanticRegistryArtifact,
}
