"""The assets factory: one subsettable `multi_asset` per plan, plus the repository source.

A run prunes the plan to the selected assets (unselected upstream is read from the store),
runs the plan-aware Hamilton driver in a worker thread, and streams one `MaterializeResult` per
view as it finishes, in the plan's topological order (a view that finished early — unchanged, no
write to wait for — is held until everything before it is reported: Dagster fails a step that
yields an asset before one it depends on), each view's check results right after it, and the
`plan` asset last (it carries the run manifest ID).
"""

import hashlib
import queue
import threading
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
from cpg_core.execute.in_order import InOrder
from cpg_core.pipeline import ProjectRun, build_project
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
    """One run of a selection: what to build, what was yielded, tables read for checks."""

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
        admitted = [v for v in views if plan.tasks[v].admitted]
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
        expected = set(admitted) | set(evidence)
        order: InOrder[InputStored | TaskFinish] = InOrder(
            [n for n in asset_names(plan) if n in expected]
        )
        events: queue.Queue[Any] = queue.Queue()
        worker = threading.Thread(
            target=self._build, args=(project, admitted, evidence, events), daemon=True
        )
        worker.start()
        while True:
            item = events.get()
            if isinstance(item, _Done):
                break
            if isinstance(item, RunStart):
                self.run_id = item.run_id
            if isinstance(item, InputStored | TaskFinish) and item.task in order:
                for event in order.add(item.task, item):
                    yield from self._release(event, pending)
        for event in order.rest():  # the run ended (a failure): what finished is reported
            yield from self._release(event, pending)
        worker.join()
        for check in pending:  # views not reported (failed run): their checks are not evaluated
            self.context.log.warning(f"check {check.name} of {check.view} not evaluated")
        done = item
        if done.error is not None:
            error = done.error
            view = error.view if isinstance(error, BuildError) else None
            what = "did not start" if isinstance(error, StoreBusyError) else "failed"
            raise dg.Failure(
                description=f"cpg build {what}: {error}",
                metadata={
                    "failed_view": view or "",
                    "kept": list(error.kept) if isinstance(error, BuildError) else [],
                },
            ) from error
        assert done.run is not None
        self.manifest = done.run.result.manifest
        self.manifest_id = artifact_id(done.run.result.manifest)
        self.context.log.info(
            f"cpg run {done.run.result.manifest.run_id}: {len(done.run.result.executed)} views "
            f"executed, {len(done.run.result.cache_hits)} from cache, manifest {self.manifest_id[:12]}"
        )

    def _release(
        self, event: InputStored | TaskFinish, pending: list[PlannedCheck]
    ) -> Iterator[Any]:
        """A table's result (in dependency order), then the checks it completes."""
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

    def _build(
        self, project: Any, views: list[str], evidence: list[str], events: queue.Queue[Any]
    ) -> None:
        # The whole build (extraction included) holds the store, waiting `lock_timeout_s` for a
        # build of another process; the owner text names this Dagster run to anyone waiting.
        store = DeltaStore(project.store, lock_timeout_s=self.cpg.lock_timeout_s)
        try:
            with store.run_lock(f"dagster run {self.context.run.run_id}"):
                run = build_project(
                    project,
                    plan=self.plan,
                    config=self.cpg.executor_config(),
                    select=sorted(views),
                    upstream=False,
                    refresh_evidence=bool(evidence),
                    store_evidence=evidence,
                    on_event=events.put,
                )
            events.put(_Done(run=run))
        except BaseException as error:  # reported on the main thread as a Failure
            events.put(_Done(error=error))

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


@dataclass(frozen=True)
class _Done:
    run: ProjectRun | None = None
    error: BaseException | None = None


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
