"""msgspec contracts for the plan's artifacts. Changing a field is a contract change: the
goldens under tests/golden/artifacts and the exported JSON Schemas must change with it."""

from __future__ import annotations

import msgspec

from cpg_core.plan.problems import Problem

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


Artifact = PlanScheduleArtifact | PlanValidationArtifact | SemanticRegistryArtifact


class ArtifactEnvelope(_Contract, frozen=True, kw_only=True):
    """A tagged artifact with its deterministic ID (sha256 of the artifact's canonical msgpack)."""

    artifact_id: str
    schema_version: int = SCHEMA_VERSION
    artifact: Artifact


CONTRACTS: dict[str, type[msgspec.Struct]] = {
    "artifact_envelope": ArtifactEnvelope,
    "plan_schedule": PlanScheduleArtifact,
    "plan_validation": PlanValidationArtifact,
    "semantic_registry": SemanticRegistryArtifact,
}
