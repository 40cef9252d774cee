"""`cpg_definitions`: everything a plan contributes to a code location, in one call.

Assets (the multi_asset, the repository source, external sources), the `cpg` resource, a job of
every cpg asset, the nightly schedule, the repository observer, the change sensor and an
automation sensor. The observer starts RUNNING (it only records the repository's version, no
run); the schedule, the change sensor and automation start STOPPED: turning on background runs
is the user's decision, made in the UI. Every name carries the translator's key prefix
(`CpgNames`), so two cpg projects can share a code location.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import dagster as dg

from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project
from cpg_dagster.assets import cpg_assets, reads_evidence
from cpg_dagster.names import DEFAULT_NAMES, CpgNames
from cpg_dagster.resource import DEFAULT_OBSERVE_INTERVAL_S, CpgResource
from cpg_dagster.sensors import change_sensor, nightly_schedule, repository_observer
from cpg_dagster.translator import CpgTranslator

JOB_NAME = DEFAULT_NAMES.job
AUTOMATION_SENSOR_NAME = DEFAULT_NAMES.automation
PARTITIONS_NAME = DEFAULT_NAMES.partitions


def default_automation_condition() -> dg.AutomationCondition:
    """Rebuild when upstream data changed (eager) or the view's SQL changed (code version).

    `eager()` alone ignores code changes (docs/dependencies.md#dagster-eager-ignores-code), so a changed view would stay stale forever.
    """
    return dg.AutomationCondition.eager() | dg.AutomationCondition.code_version_changed()


def cpg_definitions(
    plan: ExecutionPlan,
    *,
    project: Project | None = None,
    translator: CpgTranslator | None = None,
    resource: CpgResource | None = None,
    views: AbstractSet[str] | None = None,
    automation: bool = True,
    partitioned: bool = False,
) -> dg.Definitions:
    """The Definitions of one compiled plan (see the module docstring for what is in it).

    `partitioned=True`: every asset gets the dynamic partitions `cpg_repositories`, one per
    repository path (add them in the UI or with `instance.add_dynamic_partitions`); each
    partition builds into its own store. The schedule, the sensors and automation watch one
    repository, so they are left out of partitioned definitions. The resource's
    `observe_interval_s` sets how often the observer and the change sensor look at the
    repository (0: no observer; the change sensor then every 60 s).
    `views`: only these persisted views (and the tables they read) become assets (a
    component's `select`/`exclude`).
    """
    translator = translator or CpgTranslator()
    names = CpgNames.for_key_prefix(translator.key_prefix)
    if resource is None:
        resource = resource_for(project or plan.project)
    partitions = dg.DynamicPartitionsDefinition(name=names.partitions) if partitioned else None
    automation = automation and not partitioned
    condition = default_automation_condition() if automation else None
    assets = cpg_assets(
        plan,
        translator=translator,
        names=names,
        views=views,
        automation_condition=condition,
        partitions_def=partitions,
    )
    selection = dg.AssetSelection.assets(*[a for a in assets if isinstance(a, dg.AssetsDefinition)])
    job = dg.define_asset_job(names.job, selection=selection, description="Build every cpg asset.")
    resources = {names.resource: resource}
    if partitioned:
        return dg.Definitions(assets=assets, jobs=[job], resources=resources)
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        schedules=[nightly_schedule(job, names=names)],
        sensors=_sensors(
            plan, translator, names, resource, views, selection if automation else None
        ),
        resources=resources,
    )


def _sensors(
    plan: ExecutionPlan,
    translator: CpgTranslator,
    names: CpgNames,
    resource: CpgResource,
    views: AbstractSet[str] | None,
    automated: dg.AssetSelection | None,
) -> list[dg.SensorDefinition]:
    interval = resource.observe_interval_s or DEFAULT_OBSERVE_INTERVAL_S
    sensors = [
        change_sensor(plan, translator, names=names, views=views, minimum_interval_seconds=interval)
    ]
    if resource.observe_interval_s > 0 and reads_evidence(plan, views):  # a repository
        sensors.append(
            repository_observer(translator, names=names, interval_s=resource.observe_interval_s)
        )
    if automated is not None:
        sensors.append(
            dg.AutomationConditionSensorDefinition(
                names.automation,
                target=automated,
                default_status=dg.DefaultSensorStatus.STOPPED,
            )
        )
    return sensors


def resource_for(project: Project) -> CpgResource:
    """A resource pointing at `project` (its file when it has one, else the built-in CPG)."""
    return CpgResource(
        project_file=str(project.config_path) if project.config_path else None,
        repo=str(project.repo) if project.repo else None,
        store=str(project.store),
    )
