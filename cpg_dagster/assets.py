"""The assets factory: one subsettable `multi_asset` per plan, plus the repository source.

A run asks cpg to build the selected assets (`cpg_core.pipeline.BuildStream`; unselected
upstream is read from the store) and translates what the build streams: one `MaterializeResult`
per table as it is stored, in dependency order (cpg holds back a view that finished early —
unchanged, no write to wait for — until everything it reads is reported, as Dagster requires),
each view's check results right after it, and the `plan` asset last (it carries the run
manifest ID).
"""

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
import pyarrow as pa
from dagster import AssetExecutionContext
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from cpg_core.artifacts.envelope import artifact_id
from cpg_core.execute.errors import BuildError
from cpg_core.pipeline import BuildEvent, BuildStream
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.errors import StoreBusyError
from cpg_core.store.events import InputStored, RunStart, TaskFinish
from cpg_dagster.plan_asset import plan_materialization, plan_spec
from cpg_dagster.repository import repo_version
from cpg_dagster.resource import CpgResource
from cpg_dagster.specs import (
    PlannedCheck,
    asset_names,
    check_result,
    check_specs,
    evaluate_admitted,
    evaluate_check,
    planned_checks,
)
from cpg_dagster.translator import CpgTranslator, asset_kind

DEFAULT_NAME = "cpg_build"


def materializable_specs(plan: ExecutionPlan, translator: CpgTranslator) -> list[dg.AssetSpec]:
    """Specs the multi_asset materializes: evidence tables and persisted views (not sources)."""
    return [
        translator.get_asset_spec(plan, name)
        for name in asset_names(plan)
        if asset_kind(plan, name) != "source"
    ]


def source_specs(plan: ExecutionPlan, translator: CpgTranslator) -> list[dg.AssetSpec]:
    """External sources (Parquet/CSV/Delta files): shown in the lineage, not materialized here."""
    return [
        translator.get_asset_spec(plan, name)
        for name in asset_names(plan)
        if asset_kind(plan, name) == "source"
    ]


def repository_source(translator: CpgTranslator) -> dg.SourceAsset:
    """The repository as an observable source: data version = git HEAD or a content hash."""

    @dg.observable_source_asset(
        key=translator.get_repo_asset_key(),
        description="The repository whose Python files are extracted into the evidence tables. "
        "Its data version is its git HEAD (clean checkout) or a hash of its Python files.",
        group_name="evidence",
    )
    def repository(cpg: CpgResource) -> dg.DataVersion:
        root = cpg.load_project().repo
        if root is None:
            raise dg.Failure("the cpg resource names no repository (set `repo`)")
        return dg.DataVersion(repo_version(root))

    return repository


def cpg_multi_asset(
    plan: ExecutionPlan,
    *,
    translator: CpgTranslator | None = None,
    name: str = DEFAULT_NAME,
    automation_condition: dg.AutomationCondition | None = None,
    partitions_def: dg.DynamicPartitionsDefinition | None = None,
) -> dg.AssetsDefinition:
    """One subsettable multi_asset for every evidence table, persisted view and the plan.

    With `partitions_def` (dynamic, one partition per repository path), a run builds the
    partition's repository into its own store: `<store>/repos/<sha256(path)[:16]>`.
    """
    translator = translator or CpgTranslator()
    specs = [*materializable_specs(plan, translator), plan_spec(plan, translator)]
    if automation_condition is not None:
        specs = [s.replace_attributes(automation_condition=automation_condition) for s in specs]
    if partitions_def is not None:
        specs = [s.replace_attributes(partitions_def=partitions_def) for s in specs]
    names = {translator.get_asset_key(n): n for n in asset_names(plan)}

    @dg.multi_asset(
        name=name,
        specs=specs,
        check_specs=check_specs(plan, translator),
        can_subset=True,
        description=f"cpg build of plan {plan.signature[:12]}",
    )
    def cpg_build(context: AssetExecutionContext, cpg: CpgResource) -> Iterator[Any]:
        selected = {names[k] for k in context.selected_asset_keys if k in names}
        wants_plan = translator.get_plan_asset_key() in context.selected_asset_keys
        checks = {(k.asset_key, k.name) for k in context.selected_asset_check_keys}
        if context.has_partition_key:  # one repository per partition, each with its own store
            cpg = partition_resource(cpg, context.partition_key)
        run = _SelectionRun(plan, translator, cpg, selected, checks, context)
        yield from run.execute()
        if wants_plan:
            yield plan_materialization(plan, translator, run.manifest_id, run.manifest)

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
    tables: dict[str, pa.Table] = field(default_factory=dict)
    manifest_id: str | None = None
    manifest: Any = None
    run_id: str | None = None
    store: DeltaStore | None = None

    def execute(self) -> Iterator[Any]:
        plan = self.plan
        views = [n for n in self.selected if n in plan.tasks]
        admitted = sorted(v for v in views if plan.tasks[v].admitted)
        evidence = sorted(n for n in self.selected if asset_kind(plan, n) == "evidence")
        checks = [c for c in planned_checks(plan, self.translator) if self._wanted(c)]
        for check in checks:  # invalid views: their admitted check fails, nothing runs
            if check.view in views and not plan.tasks[check.view].admitted:
                yield check_result(self.translator, check, evaluate_admitted(plan, check.view))
        if not admitted and not evidence:
            return
        project = self.cpg.load_project()
        self.store = DeltaStore(project.store)
        if evidence and project.repo is not None:  # the version these evidence tables come from
            self.context.log_event(
                dg.AssetObservation(
                    asset_key=self.translator.get_repo_asset_key(),
                    tags={DATA_VERSION_TAG: repo_version(project.repo)},
                )
            )
        pending = [c for c in checks if plan.tasks[c.view].admitted]
        stream = BuildStream(
            project,
            plan=plan,
            config=self.cpg.executor_config(),
            select=admitted,
            upstream=False,
            refresh_evidence=bool(evidence),
            store_evidence=evidence,
            lock_owner=f"dagster run {self.context.run.run_id}",
        )
        try:
            for event in stream:
                yield from self._results(event, pending)
        except Exception as error:
            raise _failure(error) from error
        finally:
            for check in pending:  # views not reported (failed run): checks not evaluated
                self.context.log.warning(f"check {check.name} of {check.view} not evaluated")
        assert stream.result is not None
        manifest = stream.result.result.manifest
        self.manifest = manifest
        self.manifest_id = artifact_id(manifest)
        self.context.log.info(
            f"cpg run {manifest.run_id}: {len(manifest.executed)} views executed, "
            f"{len(stream.result.result.cache_hits)} from cache, manifest {self.manifest_id[:12]}"
        )

    def _results(self, event: BuildEvent, pending: list[PlannedCheck]) -> Iterator[Any]:
        """What one build event means in Dagster: a table's result, then the checks it completes."""
        if isinstance(event, RunStart):
            self.run_id = event.run_id
        if not isinstance(event, InputStored | TaskFinish) or event.task not in self.selected:
            return
        self.finished.add(event.task)
        if isinstance(event, InputStored):
            yield self._evidence_result(event)
            return
        yield self._view_result(event)
        for check in [c for c in pending if c.view in self.finished and self._reads_ready(c)]:
            pending.remove(check)
            yield self._check_result(check)

    def _wanted(self, check: PlannedCheck) -> bool:
        return (self.translator.get_asset_key(check.view), check.name) in self.selected_checks

    def _reads_ready(self, check: PlannedCheck) -> bool:
        """Every table the check reads is reported in this run or not part of it (stored)."""
        return all(t in self.finished or t not in self.selected for t in check.reads)

    def _uri(self, name: str) -> str:
        assert self.store is not None
        return str(self.store.table_path(name))

    def _evidence_result(self, event: InputStored) -> dg.MaterializeResult:
        return dg.MaterializeResult(
            asset_key=self.translator.get_asset_key(event.task),
            data_version=dg.DataVersion(event.data_version or ""),
            metadata={
                "dagster/row_count": event.rows or 0,
                "cpg.bytes": event.bytes or 0,
                "cpg.delta_version": event.delta_version if event.delta_version is not None else -1,
                "cpg.written": event.written,
                "cpg.plan_signature": self.plan.signature,
                "dagster/uri": self._uri(event.task),
            },
        )

    def _view_result(self, event: TaskFinish) -> dg.MaterializeResult:
        name = event.task
        metadata: dict[str, Any] = {
            "dagster/row_count": event.rows or 0,
            "cpg.bytes": event.bytes or 0,
            "cpg.duration_s": round(event.duration_s, 6),
            "cpg.cache_hit": event.cache_hit,
            "cpg.executor": event.executor or "main",
            "cpg.fingerprint": self.plan.tasks[name].fingerprint,
            "cpg.plan_signature": self.plan.signature,
            "cpg.delta_version": event.delta_version if event.delta_version is not None else -1,
            "dagster/uri": self._uri(name),
        }
        lineage = self.translator.get_column_lineage(self.plan, name)
        if lineage is not None:  # on the materialization too, where Dagster's docs put it
            metadata["dagster/column_lineage"] = lineage
        if self.run_id is not None:
            metadata["cpg.run_id"] = self.run_id
        return dg.MaterializeResult(
            asset_key=self.translator.get_asset_key(name),
            data_version=dg.DataVersion(event.data_version or ""),
            metadata=metadata,
        )

    def _read(self, name: str) -> pa.Table:
        assert self.store is not None
        if name not in self.tables:
            self.tables[name] = self.store.read(name)
        return self.tables[name]

    def _check_result(self, check: PlannedCheck) -> dg.AssetCheckResult:
        outcome = evaluate_check(self.plan, check, self._read)
        return check_result(self.translator, check, outcome)


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


def cpg_assets(
    plan: ExecutionPlan,
    *,
    translator: CpgTranslator | None = None,
    name: str = DEFAULT_NAME,
    automation_condition: dg.AutomationCondition | None = None,
    partitions_def: dg.DynamicPartitionsDefinition | None = None,
) -> list[dg.AssetsDefinition | dg.SourceAsset | dg.AssetSpec]:
    """Everything a plan contributes: the multi_asset, the repository source, external sources."""
    translator = translator or CpgTranslator()
    out: list[dg.AssetsDefinition | dg.SourceAsset | dg.AssetSpec] = [
        cpg_multi_asset(
            plan,
            translator=translator,
            name=name,
            automation_condition=automation_condition,
            partitions_def=partitions_def,
        )
    ]
    if any(asset_kind(plan, n) == "evidence" for n in asset_names(plan)):
        out.append(repository_source(translator))
    out.extend(source_specs(plan, translator))
    return out


__all__ = ["cpg_assets", "cpg_multi_asset", "repository_source"]
