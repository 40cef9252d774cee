"""The sensors and the schedule that keep the graph fresh.

- `cpg_repo_observer` observes the repository on its own: every tick it computes the repository
  version (git HEAD or content hash) and, when it differs from the last one recorded, records an
  observation of `cpg/repo`. No run is launched; the evidence assets turn stale and
  `cpg_automation` (declarative automation) requests them and everything downstream.
- `cpg_change_sensor` compares the repository version and every view's fingerprint (views on
  disk, recompiled) with what was last built and requests exactly the impacted assets: a new
  repository version → the evidence tables and every view downstream of them; a changed view →
  that view and its downstream. Cosmetic SQL edits keep the fingerprint and request nothing.
  With no cursor (first tick, or a cursor of an older cpg) "what was last built" is read from
  the instance: each evidence materialization's recorded repository version and each view's
  recorded code version (its fingerprint). Turned on after an edit, it requests that edit.

Both decide "changed" the same way (the same repository version, fingerprints = code
versions), so for one edit they request the same assets. Use one of them, not both (each would
launch its own run): see docs/dagster.md, "Which to use".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import dagster as dg
from dagster._core.definitions.data_version import (
    CODE_VERSION_TAG,
    DATA_VERSION_TAG,
    get_input_data_version_tag,
)

from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.pruning import downstream_closure
from cpg_core.project import ProjectError
from cpg_dagster.assets import selected_names
from cpg_dagster.names import DEFAULT_NAMES, CpgNames
from cpg_dagster.repository import RepositoryUnavailableError, observed_version
from cpg_dagster.resource import DEFAULT_OBSERVE_INTERVAL_S, CpgResource
from cpg_dagster.translator import CpgTranslator, asset_kind

SENSOR_NAME = DEFAULT_NAMES.change_sensor
SCHEDULE_NAME = DEFAULT_NAMES.schedule
OBSERVER_NAME = DEFAULT_NAMES.observer
CURSOR_FORMAT = 2  # 1 (cpg ≤ issue 14): {"repo", "fingerprints"}, no "format"


def _fingerprints(plan: ExecutionPlan) -> dict[str, str | None]:
    """Each admitted view asset's fingerprint (= its code version; an inline view's is folded
    into its readers' fingerprints)."""
    return {
        n: t.fingerprint for n, t in sorted(plan.tasks.items()) if t.admitted and t.view.persisted
    }


def impacted(
    plan: ExecutionPlan,
    *,
    repo_changed: bool,
    old: Mapping[str, str | None],
    new: Mapping[str, str | None],
    views: AbstractSet[str] | None = None,
) -> set[str]:
    """Asset names (of the selected `views`) a change touches: evidence + its downstream,
    changed views + their downstream."""
    names = set(selected_names(plan, views))
    changed_views = {v for v, fp in new.items() if old.get(v) != fp and v in plan.tasks}
    changed_views &= set(plan.schedule.order)
    evidence = {n for n in names if asset_kind(plan, n) == "evidence"}
    out = downstream_closure(plan, changed_views, evidence if repo_changed else ())
    if repo_changed:
        out |= evidence
    return {n for n in out if n in names}


# -- the state a change is measured against --------------------------------------------------


@dataclass(frozen=True)
class Built:
    """What was last built (or requested): the repository version of the evidence (None: no
    evidence built) and each view's fingerprint (None: never built)."""

    repo: str | None
    fingerprints: Mapping[str, str | None]
    seq: int = 0  # requests made so far: part of each run key, so a revert requests again

    def cursor(self) -> str:
        state = {
            "format": CURSOR_FORMAT,
            "seq": self.seq,
            "repo": self.repo,
            "fingerprints": dict(self.fingerprints),
        }
        return json.dumps(state, sort_keys=True)


def read_cursor(cursor: str | None) -> tuple[Built | None, str | None]:
    """The state in a cursor, or (None, why it cannot be used) for a missing, older or damaged
    one (the caller then reads the state from the instance)."""
    if cursor is None:
        return None, None
    try:
        state = json.loads(cursor)
    except ValueError:
        return None, "ignored an unreadable cursor"
    if not isinstance(state, dict) or state.get("format") != CURSOR_FORMAT:
        found = state.get("format", 1) if isinstance(state, dict) else "unknown"
        return None, f"ignored a cursor of format {found} (an older cpg; this one writes format 2)"
    return Built(state.get("repo"), state.get("fingerprints") or {}, int(state.get("seq", 0))), None


def built_state(
    instance: dg.DagsterInstance,
    plan: ExecutionPlan,
    translator: CpgTranslator,
    views: AbstractSet[str] | None = None,
) -> Built:
    """What the instance says was last built: the repository version recorded by the evidence
    materializations (the oldest differing one counts: None when any was never built) and the
    code version (= fingerprint) each view was last materialized with."""
    names = [n for n in selected_names(plan, views) if asset_kind(plan, n) != "source"]
    keys = {translator.get_asset_key(n): n for n in names}
    tags: dict[str, Mapping[str, str]] = {}
    for record in instance.get_asset_records(list(keys)):
        entry = record.asset_entry.last_materialization
        materialization = entry.asset_materialization if entry is not None else None
        if materialization is not None:
            tags[keys[record.asset_entry.asset_key]] = materialization.tags or {}
    repo_tag = get_input_data_version_tag(translator.get_repo_asset_key())
    repos = {tags.get(n, {}).get(repo_tag) for n in names if asset_kind(plan, n) == "evidence"}
    repo = repos.pop() if len(repos) == 1 else None
    code = {n: tags.get(n, {}).get(CODE_VERSION_TAG) for n in names if n in plan.tasks}
    return Built(repo, code)


# -- the sensors -------------------------------------------------------------------------------


def change_sensor(
    plan: ExecutionPlan,
    translator: CpgTranslator,
    *,
    names: CpgNames = DEFAULT_NAMES,
    views: AbstractSet[str] | None = None,
    minimum_interval_seconds: int = 60,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor requesting the assets (of the selected `views`) impacted by repository or view
    changes since the last build (see the module docstring)."""
    keys = [
        translator.get_asset_key(n)
        for n in selected_names(plan, views)
        if asset_kind(plan, n) != "source"
    ] + [translator.get_plan_asset_key()]

    @dg.sensor(
        name=names.change_sensor,
        target=keys,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        required_resource_keys={names.resource},
        description="Requests exactly the cpg assets impacted by a new repository version or "
        "a changed view (by fingerprint: cosmetic edits request nothing) since they were "
        "last built.",
    )
    def cpg_change_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cpg: CpgResource = getattr(context.resources, names.resource)
        try:
            now = _current(cpg)
        except (RepositoryUnavailableError, ProjectError, OSError) as error:
            return dg.SensorResult(skip_reason=f"cannot check for changes: {error}")
        before, ignored = read_cursor(context.cursor)
        if ignored:
            context.log.warning(f"{ignored}; comparing with the last materializations instead")
        if before is None:
            before = built_state(context.instance, plan, translator, views)
        return _evaluate(plan, translator, views, before, now, ignored)

    return cpg_change_sensor


def _current(cpg: CpgResource) -> Built:
    """The repository version and view fingerprints on disk now (compile cache: fast)."""
    project = cpg.load_project()
    repo = observed_version(project.repo) if project.repo is not None else None
    return Built(repo, _fingerprints(compile_plan(project)))


def _evaluate(
    plan: ExecutionPlan,
    translator: CpgTranslator,
    views: AbstractSet[str] | None,
    before: Built,
    now: Built,
    note: str | None,
) -> dg.SensorResult:
    """The request (or the reason for none) for the change from `before` to `now`."""
    names = impacted(
        plan,
        repo_changed=before.repo != now.repo,
        old=before.fingerprints,
        new=now.fingerprints,
        views=views,
    )
    if not names:
        reason = "no change since the last build (repository version and view fingerprints)"
        state = Built(now.repo, now.fingerprints, before.seq)
        return dg.SensorResult(
            skip_reason=f"{reason}; {note}" if note else reason, cursor=state.cursor()
        )
    selection = [translator.get_asset_key(n) for n in selected_names(plan, views) if n in names]
    if any(before.fingerprints.get(v) != now.fingerprints.get(v) for v in names):
        selection.append(translator.get_plan_asset_key())  # a view changed: so did the plan
    state = Built(now.repo, now.fingerprints, before.seq + 1)
    cursor = state.cursor()
    request = dg.RunRequest(
        run_key=f"cpg-{state.seq}-{hashlib.sha256(cursor.encode()).hexdigest()[:16]}",
        asset_selection=selection,
        tags={"cpg/trigger": "change_sensor"},
    )
    return dg.SensorResult(run_requests=[request], cursor=cursor)


def repository_observer(
    translator: CpgTranslator,
    *,
    names: CpgNames = DEFAULT_NAMES,
    interval_s: int = DEFAULT_OBSERVE_INTERVAL_S,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.RUNNING,
) -> dg.SensorDefinition:
    """Observe the repository every `interval_s` seconds: an observation of `cpg/repo` when its
    version differs from the last one recorded (see the module docstring)."""
    key = translator.get_repo_asset_key()

    @dg.sensor(
        name=names.observer,
        minimum_interval_seconds=interval_s,
        default_status=default_status,
        required_resource_keys={names.resource},
        description=f"Observes the repository ({key.to_user_string()}) every {interval_s} s "
        "and records its version when it changed; launches no run.",
    )
    def cpg_repo_observer(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        cpg: CpgResource = getattr(context.resources, names.resource)
        root = cpg.load_project().repo
        if root is None:
            return dg.SensorResult(skip_reason="the cpg resource names no repository")
        try:
            version = observed_version(root)
        except RepositoryUnavailableError as error:
            return dg.SensorResult(skip_reason=f"cannot observe the repository: {error}")
        if version == _last_observed(context.instance, key):
            return dg.SensorResult(skip_reason=f"repository unchanged ({version[:24]})")
        observation = dg.AssetObservation(asset_key=key, tags={DATA_VERSION_TAG: version})
        return dg.SensorResult(  # a "skip": no run, the observation is what the tick did
            asset_events=[observation],
            skip_reason=f"observed a new repository version ({version[:24]}); no run launched",
        )

    return cpg_repo_observer


def _last_observed(instance: dg.DagsterInstance, key: dg.AssetKey) -> str | None:
    record = instance.get_latest_data_version_record(key, is_source=True)
    if record is None:
        return None
    return (record.event_log_entry.tags or {}).get(DATA_VERSION_TAG)


def nightly_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    *,
    names: CpgNames = DEFAULT_NAMES,
    cron_schedule: str = "0 3 * * *",
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> dg.ScheduleDefinition:
    """Build everything every night (cache hits make an unchanged night cheap)."""
    return dg.ScheduleDefinition(
        name=names.schedule,
        job=job,
        cron_schedule=cron_schedule,
        default_status=default_status,
        description="Nightly cpg build of every asset; unchanged views are cache hits.",
    )
