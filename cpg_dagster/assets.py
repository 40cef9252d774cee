"""The assets factory: one subsettable `multi_asset` per plan, plus the repository source.

A run asks cpg to build the selected assets (`cpg_core.pipeline.BuildStream`; unselected
upstream is read from the store) and translates what the build streams: one `MaterializeResult`
per table as it is stored, in dependency order (cpg holds back a view that finished early —
unchanged, no write to wait for — until everything it reads is reported, as Dagster requires),
each check result as the build decides it (the core evaluates the tests right after the tables
they read are computed: nothing is evaluated here), and the `plan` asset last (it carries the
run manifest ID). Selected checks of views the run does not build (a check-only run: the
Checks tab's Execute) are evaluated by the core against the stored tables.
"""

import hashlib
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster import AssetExecutionContext
from dagster._core.definitions.data_version import DATA_VERSION_TAG, get_input_data_version_tag

from cpg_core.artifacts.envelope import artifact_id
from cpg_core.checks.run import run_tests
from cpg_core.execute.build_tests import result_of_event
from cpg_core.execute.errors import BuildError
from cpg_core.pipeline import BuildEvent, BuildStream
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.inline import folded_inputs, schedule_positions
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.errors import StoreBusyError
from cpg_core.store.events import DataTestFinish, InputStored, RunStart, TaskBlocked, TaskFinish
from cpg_dagster.markdown import seconds
from cpg_dagster.names import DEFAULT_NAMES, CpgNames
from cpg_dagster.plan_asset import plan_materialization, plan_spec
from cpg_dagster.repository import RepositoryUnavailableError, observed_version
from cpg_dagster.resource import CpgResource
from cpg_dagster.specs import (
    ADMITTED,
    PlannedCheck,
    asset_names,
    check_result,
    check_result_of,
    check_specs,
    evaluate_admitted,
    planned_checks,
)
from cpg_dagster.translator import CpgTranslator, asset_kind, table_uri

DEFAULT_NAME = DEFAULT_NAMES.op
RUN_ID_TAG = "cpg/run_id"  # on the Dagster run: the id of the cpg run it made


def selected_names(plan: ExecutionPlan, views: AbstractSet[str] | None = None) -> list[str]:
    """`asset_names(plan)` restricted to `views` (all when None) and the input tables they read
    (through inline views), upstream first. Unselected views they read stay dependencies: they
    are read from the store, and Dagster shows them as external assets."""
    names = asset_names(plan)
    if views is None:
        return names
    position = schedule_positions(plan)
    reads = {t for v in views for t in folded_inputs(plan, v, position)[1] if v in plan.tasks}
    return [n for n in names if n in views or (n not in plan.tasks and n in reads)]


def materializable_specs(
    plan: ExecutionPlan, translator: CpgTranslator, views: AbstractSet[str] | None = None
) -> list[dg.AssetSpec]:
    """Specs the multi_asset materializes: evidence tables and persisted views (not sources)."""
    return [
        translator.get_asset_spec(plan, name)
        for name in selected_names(plan, views)
        if asset_kind(plan, name) != "source"
    ]


def source_specs(
    plan: ExecutionPlan, translator: CpgTranslator, views: AbstractSet[str] | None = None
) -> list[dg.AssetSpec]:
    """External sources (Parquet/CSV/Delta files): shown in the lineage, not materialized here."""
    return [
        translator.get_asset_spec(plan, name)
        for name in selected_names(plan, views)
        if asset_kind(plan, name) == "source"
    ]


def repository_source(translator: CpgTranslator, names: CpgNames = DEFAULT_NAMES) -> dg.SourceAsset:
    """The repository as an observable source: data version = git HEAD or a content hash.

    Observed on its own by the `cpg_repo_observer` sensor (`cpg_dagster.sensors`), by every run
    that extracts it, and by hand with **Observe**."""

    @dg.observable_source_asset(
        key=translator.get_repo_asset_key(),
        description="The repository whose Python files are extracted into the evidence tables. "
        "Its data version is its git HEAD (clean checkout) or a hash of its Python files.",
        group_name="evidence",
        required_resource_keys={names.resource},
    )
    def repository(context: dg.AssetExecutionContext) -> dg.DataVersion:
        cpg: CpgResource = getattr(context.resources, names.resource)
        root = cpg.load_project().repo
        if root is None:
            raise dg.Failure("the cpg resource names no repository (set `repo`)")
        try:
            return dg.DataVersion(observed_version(root))
        except RepositoryUnavailableError as error:
            raise dg.Failure(description=f"cannot observe the repository: {error}") from None

    return repository


def cpg_multi_asset(
    plan: ExecutionPlan,
    *,
    translator: CpgTranslator | None = None,
    names: CpgNames = DEFAULT_NAMES,
    views: AbstractSet[str] | None = None,
    automation_condition: dg.AutomationCondition | None = None,
    partitions_def: dg.DynamicPartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """One subsettable multi_asset for every evidence table, persisted view (of `views`, when
    given) and the plan.

    With `partitions_def` (dynamic, one partition per repository path), a run builds the
    partition's repository into its own store: `<store>/repos/<sha256(path)[:16]>`.
    """
    translator = translator or CpgTranslator()
    specs = [*materializable_specs(plan, translator, views), plan_spec(plan, translator)]
    if automation_condition is not None:
        specs = [s.replace_attributes(automation_condition=automation_condition) for s in specs]
    if partitions_def is not None:
        specs = [s.replace_attributes(partitions_def=partitions_def) for s in specs]
    by_key = {translator.get_asset_key(n): n for n in selected_names(plan, views)}
    checks = [c for c in check_specs(plan, translator) if c.asset_key in by_key]

    @dg.multi_asset(
        name=names.op,
        specs=specs,
        check_specs=checks,
        can_subset=True,
        description=f"cpg build of plan {plan.signature[:12]}",
        required_resource_keys={names.resource},
    )
    def cpg_build(context: AssetExecutionContext) -> Iterator[Any]:
        cpg: CpgResource = getattr(context.resources, names.resource)
        selected = {by_key[k] for k in context.selected_asset_keys if k in by_key}
        wants_plan = translator.get_plan_asset_key() in context.selected_asset_keys
        checks = {(k.asset_key, k.name) for k in context.selected_asset_check_keys}
        if context.has_partition_key:  # one repository per partition, each with its own store
            cpg = partition_resource(cpg, context.partition_key)
        run = _SelectionRun(plan, translator, cpg, selected, checks, context)
        yield from run.execute()
        if wants_plan:
            yield plan_materialization(
                plan, translator, run.manifest_id, run.manifest, run.measured
            )

    return cpg_build


def partition_store(store: Path, repository: str) -> Path:
    """The store of one repository partition (stable, filesystem-safe, no path from the key)."""
    return store / "repos" / hashlib.sha256(repository.encode()).hexdigest()[:16]


def partition_resource(cpg: CpgResource, repository: str) -> CpgResource:
    """The resource for one repository partition: that repository, its own store."""
    if not Path(repository).is_dir():
        raise dg.Failure(f"repository partition {repository!r} is not a directory on this machine")
    store = partition_store(cpg.load_project().store, repository)
    return CpgResource(**{**cpg.model_dump(), "repo": repository, "store": str(store)})


@dataclass
class _SelectionRun:
    """One run of a selection: asks cpg for the build and turns what it streams into results.

    The build streams each table's event in dependency order (`cpg_core.pipeline.BuildStream`);
    this translates each into a `MaterializeResult`, followed by the checks it completes."""

    plan: ExecutionPlan
    translator: CpgTranslator
    cpg: CpgResource
    selected: set[str]
    selected_checks: set[tuple[dg.AssetKey, str]]
    context: dg.AssetExecutionContext
    finished: set[str] = field(default_factory=set)
    manifest_id: str | None = None
    manifest: Any = None
    run_id: str | None = None
    store: DeltaStore | None = None
    repo_version: str | None = None  # of the repository the evidence is extracted from
    measured: dict[str, TaskFinish] = field(default_factory=dict)  # this run's view events

    def execute(self) -> Iterator[Any]:
        plan = self.plan
        views = [n for n in self.selected if n in plan.tasks]
        admitted = sorted(v for v in views if plan.tasks[v].admitted)
        evidence = sorted(n for n in self.selected if asset_kind(plan, n) == "evidence")
        checks = [c for c in planned_checks(plan, self.translator) if self._wanted(c)]
        built = set(admitted)
        for check in checks:  # `admitted` of a view not built here (invalid, or not selected)
            if check.test is None and check.view not in built:
                yield check_result(self.translator, check, evaluate_admitted(plan, check.view))
        streamed = [c for c in checks if c.view in built]
        later = [c for c in checks if c.view not in built and c.test is not None]
        project = self.cpg.load_project()
        self.store = DeltaStore(project.store)
        if admitted or evidence:
            yield from self._build(project, admitted, evidence, streamed)
        if later:  # checks of views this run does not build: evaluated against the store
            yield from self._stored_checks(project.store, later)

    def _build(
        self, project: Project, admitted: list[str], evidence: list[str], checks: list[PlannedCheck]
    ) -> Iterator[Any]:
        """Build the selection; each table's result, then the checks the build decided."""
        plan = self.plan
        if evidence and project.repo is not None:  # the version these evidence tables come from
            try:
                self.repo_version = observed_version(project.repo)
            except RepositoryUnavailableError as error:
                raise dg.Failure(description=f"cpg build did not start: {error}") from None
            self.context.log_event(
                dg.AssetObservation(
                    asset_key=self.translator.get_repo_asset_key(),
                    tags={DATA_VERSION_TAG: self.repo_version},
                )
            )
        pending = {_key(c): c for c in checks}
        stream = BuildStream(
            project,
            plan=plan,
            config=self.cpg.executor_config(),
            select=admitted,
            upstream=False,
            refresh_evidence=bool(evidence),
            store_evidence=evidence,
            lock_owner=f"dagster run {self.context.run.run_id}",
            tests=[c.test.id for c in checks if c.test is not None],
        )
        try:
            for event in stream:
                yield from self._results(event, pending)
        except Exception as error:
            raise _failure(error) from error
        finally:
            for check in pending.values():  # views not reported (failed run): not evaluated
                self.context.log.warning(f"check {check.name} of {check.view} not evaluated")
        assert stream.result is not None
        manifest = stream.result.result.manifest
        self.manifest = manifest
        self.manifest_id = artifact_id(manifest)
        self.context.log.info(
            f"cpg run {manifest.run_id}: {len(manifest.executed)} views executed, "
            f"{len(stream.result.result.cache_hits)} from cache, manifest {self.manifest_id[:12]}"
        )

    def _results(self, event: BuildEvent, pending: dict[str, PlannedCheck]) -> Iterator[Any]:
        """What one build event means in Dagster: a table's result and its `admitted` check,
        a test's check result (the core decided it), a blocked view's warning."""
        if isinstance(event, RunStart):
            self.run_id = event.run_id
            self._link_runs()
        if isinstance(event, DataTestFinish):
            check = pending.pop(event.id, None)
            if check is not None:
                yield check_result_of(self.translator, check, result_of_event(event))
            return
        if not isinstance(event, InputStored | TaskFinish | TaskBlocked):
            return
        if event.task not in self.selected:
            return
        self.finished.add(event.task)
        if isinstance(event, InputStored):
            yield self._evidence_result(event)
            return
        if isinstance(event, TaskBlocked):
            self.context.log.warning(f"{event.task} was not materialized: {event.reason}")
        else:
            yield self._view_result(event)
        admitted = pending.pop(f"{event.task}/{ADMITTED}", None)
        if admitted is not None:
            yield check_result(self.translator, admitted, evaluate_admitted(self.plan, event.task))

    def _stored_checks(self, store: Path, checks: list[PlannedCheck]) -> Iterator[Any]:
        """Checks run on their own (no asset of theirs built here): the core evaluates each
        against the stored tables, with the result cache; a table not built yet is a failed
        check saying what to build."""
        tests = {c.test.id: c for c in checks if c.test is not None}
        report = run_tests(self.plan, store=store, select=list(tests))
        for result in report.results:
            if result.id in tests:
                yield check_result_of(self.translator, tests[result.id], result)

    def _link_runs(self) -> None:
        """cpg's run id on the Dagster run (a tag: filter runs by it), and both in the log."""
        if self.run_id is None:
            return
        dagster_run = self.context.run.run_id
        self.context.instance.add_run_tags(dagster_run, {RUN_ID_TAG: self.run_id})
        self.context.log.info(f"cpg run {self.run_id} (dagster run {dagster_run})")

    def _wanted(self, check: PlannedCheck) -> bool:
        return (self.translator.get_asset_key(check.view), check.name) in self.selected_checks

    def _uri(self, name: str) -> str:
        assert self.store is not None
        return table_uri(self.store.root, name)

    def _common_metadata(self, event: InputStored | TaskFinish) -> dict[str, Any]:
        """What evidence and views report alike, under the same names."""
        metadata: dict[str, Any] = {
            "dagster/row_count": event.rows or 0,
            "dagster/uri": self._uri(event.task),
            "cpg.outcome": event.outcome,
            "cpg.written": event.written,
            "cpg.bytes": event.bytes or 0,
            "cpg.delta_version": event.delta_version if event.delta_version is not None else -1,
            "cpg.plan_signature": self.plan.signature,
        }
        if self.run_id is not None:
            metadata["cpg.run_id"] = self.run_id
        return metadata

    def _evidence_result(self, event: InputStored) -> dg.MaterializeResult:
        self.context.log.info(f"evidence {event.task}: {event.outcome}, {event.rows or 0:,} rows")
        tags = {}
        if self.repo_version is not None:  # the repository version it was extracted from
            tags[get_input_data_version_tag(self.translator.get_repo_asset_key())] = (
                self.repo_version
            )
        return dg.MaterializeResult(
            asset_key=self.translator.get_asset_key(event.task),
            data_version=dg.DataVersion(event.data_version or ""),
            metadata=self._common_metadata(event),
            tags=tags,
        )

    def _view_result(self, event: TaskFinish) -> dg.MaterializeResult:
        name = event.task
        self.measured[name] = event
        parts = event.partitions_recomputed
        recomputed = ""
        if parts is not None and not event.cache_hit:  # a partition-incremental view
            recomputed = f", {parts} partition(s) recomputed"
        self.context.log.info(
            f"view {name}: {event.outcome}, {event.rows or 0:,} rows, "
            f"{event.duration_s:.2f} s{recomputed}"
        )
        metadata = self._common_metadata(event)
        metadata |= {
            "cpg.duration_s": seconds(event.duration_s),
            "cpg.executor": event.executor or "main",
            "cpg.fingerprint": self.plan.tasks[name].fingerprint,
        }
        lineage = self.translator.get_column_lineage(self.plan, name)
        if lineage is not None:  # on the materialization too, where Dagster's docs put it
            metadata["dagster/column_lineage"] = lineage
        if event.partitions_recomputed is not None:  # a partition-incremental view
            metadata["cpg.partitions_recomputed"] = event.partitions_recomputed
        return dg.MaterializeResult(
            asset_key=self.translator.get_asset_key(name),
            data_version=dg.DataVersion(event.data_version or ""),
            metadata=metadata,
        )


def _key(check: PlannedCheck) -> str:
    """A check by the id of its test (what a build's events name), or `<view>/admitted`."""
    return check.test.id if check.test is not None else f"{check.view}/{ADMITTED}"


def _failure(error: Exception) -> dg.Failure:
    """The step's failure: what cpg said, the failing view and what was kept."""
    view = error.view if isinstance(error, BuildError) else None
    what = "did not start" if isinstance(error, StoreBusyError) else "failed"
    return dg.Failure(
        description=f"cpg build {what}: {error}",
        metadata={
            "failed_view": view or "",
            "kept": list(error.kept) if isinstance(error, BuildError) else [],
        },
    )


def reads_evidence(plan: ExecutionPlan, views: AbstractSet[str] | None = None) -> bool:
    """Whether a (selected) view reads evidence tables: then the repository is an asset (and
    observed)."""
    return any(asset_kind(plan, n) == "evidence" for n in selected_names(plan, views))


def cpg_assets(
    plan: ExecutionPlan,
    *,
    translator: CpgTranslator | None = None,
    names: CpgNames = DEFAULT_NAMES,
    views: AbstractSet[str] | None = None,
    automation_condition: dg.AutomationCondition | None = None,
    partitions_def: dg.DynamicPartitionsDefinition | None = None,
) -> list[dg.AssetsDefinition | dg.SourceAsset | dg.AssetSpec]:
    """Everything a plan contributes: the multi_asset, the repository source, external sources
    (of the selected `views` when given)."""
    translator = translator or CpgTranslator()
    out: list[dg.AssetsDefinition | dg.SourceAsset | dg.AssetSpec] = [
        cpg_multi_asset(
            plan,
            translator=translator,
            names=names,
            views=views,
            automation_condition=automation_condition,
            partitions_def=partitions_def,
        )
    ]
    if reads_evidence(plan, views):
        out.append(repository_source(translator, names))
    out.extend(source_specs(plan, translator, views))
    return out


__all__ = ["cpg_assets", "cpg_multi_asset", "repository_source"]
