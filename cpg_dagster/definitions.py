"""`cpg_definitions`: everything a plan contributes to a code location, in one call.

Assets (the multi_asset, the repository source, external sources), the `cpg` resource, a job of
every cpg asset, the nightly schedule, the change sensor and an automation sensor (the last three
start STOPPED: turning on background runs is the user's decision, made in the UI).
"""

from __future__ import annotations

import dagster as dg

from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.project import Project
from cpg_dagster.assets import DEFAULT_NAME, cpg_assets
from cpg_dagster.resource import CpgResource
from cpg_dagster.sensors import change_sensor, nightly_schedule
from cpg_dagster.translator import CpgTranslator

JOB_NAME = "cpg_build_all"
AUTOMATION_SENSOR_NAME = "cpg_automation"
PARTITIONS_NAME = "cpg_repositories"


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
    name: str = DEFAULT_NAME,
    automation: bool = True,
    partitioned: bool = False,
) -> dg.Definitions:
    """The Definitions of one compiled plan (see the module docstring for what is in it).

    `partitioned=True`: every asset gets the dynamic partitions `cpg_repositories`, one per
    repository path (add them in the UI or with `instance.add_dynamic_partitions`); each
    partition builds into its own store. The schedule, the change sensor and automation watch
    one repository, so they are left out of partitioned definitions.
    """
    translator = translator or CpgTranslator()
    if resource is None:
        resource = resource_for(project or plan.project)
    partitions = dg.DynamicPartitionsDefinition(name=PARTITIONS_NAME) if partitioned else None
    automation = automation and not partitioned
    condition = default_automation_condition() if automation else None
    assets = cpg_assets(
        plan,
        translator=translator,
        name=name,
        automation_condition=condition,
        partitions_def=partitions,
    )
    selection = dg.AssetSelection.assets(*[a for a in assets if isinstance(a, dg.AssetsDefinition)])
    job = dg.define_asset_job(JOB_NAME, selection=selection, description="Build every cpg asset.")
    if partitioned:
        return dg.Definitions(assets=assets, jobs=[job], resources={"cpg": resource})
    sensors: list[dg.SensorDefinition] = [change_sensor(plan, translator)]
    if automation:
        sensors.append(
            dg.AutomationConditionSensorDefinition(
                AUTOMATION_SENSOR_NAME,
                target=selection,
                default_status=dg.DefaultSensorStatus.STOPPED,
            )
        )
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        schedules=[nightly_schedule(job)],
        sensors=sensors,
        resources={"cpg": resource},
    )


def resource_for(project: Project) -> CpgResource:
    """A resource pointing at `project` (its file when it has one, else the built-in CPG)."""
    return CpgResource(
        project_file=str(project.config_path) if project.config_path else None,
        repo=str(project.repo) if project.repo else None,
        store=str(project.store),
    )
