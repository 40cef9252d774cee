"""The change sensor and the nightly schedule that keep the graph fresh.

The sensor compares the repository's version (git HEAD or content hash) and every view's
fingerprint with its cursor and requests exactly the impacted assets: a new repository version
→ the evidence tables and every view downstream of them; a changed view → that view and its
downstream. Cosmetic SQL edits keep the fingerprint and request nothing.
"""

from __future__ import annotations

import hashlib
import json

import dagster as dg

from cpg_core.plan import compile_plan
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.pruning import downstream_closure
from cpg_dagster.repository import repo_version
from cpg_dagster.resource import CpgResource
from cpg_dagster.specs import asset_names
from cpg_dagster.translator import CpgTranslator, asset_kind

SENSOR_NAME = "cpg_change_sensor"
SCHEDULE_NAME = "cpg_nightly"


def _fingerprints(plan: ExecutionPlan) -> dict[str, str]:
    return {n: t.fingerprint for n, t in sorted(plan.tasks.items()) if t.admitted}


def impacted(
    plan: ExecutionPlan,
    *,
    repo_changed: bool,
    old: dict[str, str],
    new: dict[str, str],
) -> set[str]:
    """Asset names a change touches: evidence + its downstream, changed views + downstream."""
    names = set(asset_names(plan))
    changed_views = {v for v, fp in new.items() if old.get(v) != fp and v in plan.tasks}
    changed_views &= set(plan.schedule.order)
    evidence = {n for n in names if asset_kind(plan, n) == "evidence"}
    out = downstream_closure(plan, changed_views, evidence if repo_changed else ())
    if repo_changed:
        out |= evidence
    return {n for n in out if n in names}


def change_sensor(
    plan: ExecutionPlan,
    translator: CpgTranslator,
    *,
    minimum_interval_seconds: int = 60,
    default_status: dg.DefaultSensorStatus = dg.DefaultSensorStatus.STOPPED,
) -> dg.SensorDefinition:
    """A sensor requesting the assets impacted by repository or view changes since its cursor."""
    keys = [
        translator.get_asset_key(n) for n in asset_names(plan) if asset_kind(plan, n) != "source"
    ] + [translator.get_plan_asset_key()]

    @dg.sensor(
        name=SENSOR_NAME,
        target=keys,
        minimum_interval_seconds=minimum_interval_seconds,
        default_status=default_status,
        description="Requests exactly the cpg assets impacted by a new repository version or "
        "a changed view (by fingerprint: cosmetic edits request nothing).",
    )
    def cpg_change_sensor(context: dg.SensorEvaluationContext, cpg: CpgResource) -> dg.SensorResult:
        project = cpg.load_project()
        current = compile_plan(project)
        state = {
            "repo": repo_version(project.repo) if project.repo is not None else None,
            "fingerprints": _fingerprints(current),
        }
        cursor = json.dumps(state, sort_keys=True)
        if context.cursor is None:
            return dg.SensorResult(
                skip_reason="first evaluation: recorded the repository version and view "
                "fingerprints; later changes request the impacted assets",
                cursor=cursor,
            )
        previous = json.loads(context.cursor)
        names = impacted(
            plan,
            repo_changed=previous.get("repo") != state["repo"],
            old=previous.get("fingerprints", {}),
            new=state["fingerprints"],
        )
        if not names:
            return dg.SensorResult(skip_reason="no change since the last evaluation", cursor=cursor)
        selection = [translator.get_asset_key(n) for n in asset_names(plan) if n in names]
        old_fps = previous.get("fingerprints", {})
        if old_fps != state["fingerprints"]:  # a view changed: so did the plan's signature
            selection.append(translator.get_plan_asset_key())
        request = dg.RunRequest(
            run_key="cpg-" + hashlib.sha256(cursor.encode()).hexdigest()[:16],
            asset_selection=selection,
            tags={"cpg/trigger": "change_sensor"},
        )
        return dg.SensorResult(run_requests=[request], cursor=cursor)

    return cpg_change_sensor


def nightly_schedule(
    job: dg.UnresolvedAssetJobDefinition,
    *,
    cron_schedule: str = "0 3 * * *",
    default_status: dg.DefaultScheduleStatus = dg.DefaultScheduleStatus.STOPPED,
) -> dg.ScheduleDefinition:
    """Build everything every night (cache hits make an unchanged night cheap)."""
    return dg.ScheduleDefinition(
        name=SCHEDULE_NAME,
        job=job,
        cron_schedule=cron_schedule,
        default_status=default_status,
        description="Nightly cpg build of every asset; unchanged views are cache hits.",
    )
