"""msgspec contracts for the plan's and the runs' artifacts. Changing a field is a contract
change: the goldens under tests/golden/artifacts and the exported JSON Schemas must change with it.

Plan artifacts: `PlanScheduleArtifact`, `PlanValidationArtifact`, `SemanticRegistryArtifact`.
Run artifact: `RunManifest` (what one build ran, where, why, and what it produced), written by
`cpg_core.execute.build` (and exported by `cpg_core.execute`).
Test artifact: `DataTestReport` (every data test's `DataTestResult`), made by `cpg_core.checks`.
"""

from __future__ import annotations

from typing import Any, Literal

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
    """One output column, its Arrow type and (from `@column`) its description."""

    name: str
    type: str
    description: str | None = None


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


TestStatus = Literal["passed", "failed", "error"]
TestSeverity = Literal["error", "warn"]


class DataTestResult(_Contract, frozen=True, kw_only=True):
    """The outcome of one data test against the stored tables it reads.

    `status`: passed (no failing row), failed (`failing_rows` > 0) or error (the test could not
    be evaluated: `message` says why and `failing_rows` is None — never reported as passed).
    `sample`: the first failing rows as plain data. `details`: kind-specific counts (e.g. a
    unique test's `rows`, `distinct_keys`, `duplicate_keys`, `duplicate_rows`). `reads`: the
    data version of each table it was evaluated against. `cached`: taken from the result cache
    (same definition, same data versions); `duration_s` is then the original evaluation's.
    """

    id: str
    name: str
    view: str | None
    kind: str
    severity: TestSeverity
    status: TestStatus
    failing_rows: int | None
    sample: tuple[dict[str, Any], ...] = ()
    message: str | None = None
    details: dict[str, Any] = {}
    reads: dict[str, str] = {}
    definition_hash: str
    duration_s: float
    cached: bool = False
    path: str | None = None
    line: int | None = None


class DataTestCounts(_Contract, frozen=True, kw_only=True):
    """Totals: `failed` counts error-severity failures, `warned` warn-severity ones, `errors`
    tests that could not be evaluated."""

    tests: int
    passed: int
    failed: int
    warned: int
    errors: int
    cached: int


class DataTestReport(
    _Contract, frozen=True, kw_only=True, tag="data_test_report", tag_field="kind"
):
    """The data tests of one run (`cpg test`, or a build): results in plan order.

    Deterministic for equal inputs except each result's `duration_s` and `cached`."""

    plan_signature: str
    results: tuple[DataTestResult, ...]
    counts: DataTestCounts

    @property
    def ok(self) -> bool:
        """No error-severity test failed or errored (warnings do not count)."""
        return not any(r.severity == "error" and r.status != "passed" for r in self.results)


Artifact = (
    PlanScheduleArtifact
    | PlanValidationArtifact
    | SemanticRegistryArtifact
    | RunManifest
    | DataTestReport
)


class ArtifactEnvelope(_Contract, frozen=True, kw_only=True):
    """A tagged artifact with its deterministic ID (sha256 of the artifact's canonical msgpack)."""

    artifact_id: str
    schema_version: int = SCHEMA_VERSION
    artifact: Artifact


CONTRACTS: dict[str, type[msgspec.Struct]] = {
    "artifact_envelope": ArtifactEnvelope,
    "data_test_report": DataTestReport,
    "plan_schedule": PlanScheduleArtifact,
    "plan_validation": PlanValidationArtifact,
    "run_manifest": RunManifest,
    "semantic_registry": SemanticRegistryArtifact,
}
