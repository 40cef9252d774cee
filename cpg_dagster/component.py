"""`CpgComponent`: a cpg project as a state-backed Dagster Component configured by `defs.yaml`.

```yaml
type: cpg_dagster.component.CpgComponent
attributes:
  project: ../../cpg.toml     # cpg.toml / pyproject.toml; omitted: the built-in CPG views only
  repo: ../..                 # repository whose CPG is built (default: the project's)
  store: ../../.cpg/store     # Delta store (default: the project's)
  key_prefix: [cpg]           # prepended to every asset key
  execution: {mode: serial}   # serial | parallel | remote, executor, max_tasks, ...
```

Relative paths are relative to the folder of the `defs.yaml`.

State: the compiled plan's own encoding (`cpg_core.plan.plan_file`). `write_state_to_path`
compiles the project (with the compile cache of its store) and writes the plan file atomically;
`build_defs_from_state` restores the `ExecutionPlan` from it (no parsing, no DataFusion) and
hands it to `cpg_dagster.definitions.cpg_definitions`. State is refreshed by
`dg utils refresh-defs-state` (run it when building a deploy image), and automatically when
`dagster dev` or `dg` loads the project unless `defs_state.refresh_if_dev` is false. With no state
the component raises: it never loads as zero assets.
"""

# No `from __future__ import annotations`: Dagster resolves the dataclass fields' real types.
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import dagster as dg
from dagster.components import DefsStateConfig, DefsStateConfigArgs, ResolvedDefsStateConfig
from pydantic import BaseModel

from cpg_core.gc_pause import paused_gc
from cpg_core.plan.execution_plan import ExecutionPlan
from cpg_core.plan.plan_file import PlanFileError, read_plan_file, views_digest, write_plan
from cpg_core.project import Project, open_project
from cpg_core.settings import ExecutorConfig, config_from, setting, setting_fields
from cpg_dagster.translator import CpgTranslator

log = logging.getLogger(__name__)

REFRESH_COMMAND = "dg utils refresh-defs-state"


class CpgComponentStateError(RuntimeError):
    """The component has no usable compiled plan (the message says where and how to refresh)."""


def _relative_path(context: dg.ResolutionContext, value: str | None) -> Path | None:
    """A path from defs.yaml, relative to the folder of that defs.yaml."""
    if value is None:
        return None
    return context.resolve_source_relative_path(context.resolve_value(value, as_type=str))


_RELATIVE = " Relative to the folder of this defs.yaml."


def _path_resolver(description: str) -> dg.Resolver:
    return dg.Resolver(
        _relative_path, model_field_type=str | None, description=description + _RELATIVE
    )


def _key_prefix(context: dg.ResolutionContext, value: str | Sequence[str]) -> tuple[str, ...]:
    value = context.resolve_value(value)
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


ProjectPath = Annotated[
    Path | None,
    _path_resolver("cpg.toml or pyproject.toml ([tool.cpg]); omitted: built-in CPG only."),
]
RepoPath = Annotated[
    Path | None, _path_resolver("Repository whose CPG is built (default: the project's repo).")
]
StorePath = Annotated[
    Path | None, _path_resolver("Delta store folder (default: the project's store).")
]
KeyPrefix = Annotated[
    Sequence[str],
    dg.Resolver(
        _key_prefix,
        model_field_type=str | list[str],
        description="Prepended to every asset key (and names the defs state key).",
    ),
]


@dataclass
class CpgExecution(dg.Resolvable):
    """How builds run: the build settings of `cpg_core.settings.ExecutorConfig` (defaults
    from there; a test checks this block offers exactly those settings)."""

    mode: Literal["serial", "parallel", "remote"] = setting("mode").default
    executor: Literal["threads", "processes", "ray", "dask"] = setting("executor").default
    max_tasks: int = setting("max_tasks").default
    remote_threshold_s: float = setting("remote_threshold_s").default
    target_partitions: int | None = setting("target_partitions").default
    memory_limit_mb: int | None = setting("memory_limit_mb").default
    lock_timeout_s: float = setting("lock_timeout_s").default

    def settings(self) -> dict[str, Any]:
        """Setting name → value, for `config_from` and the resource."""
        return {f.name: getattr(self, f.name) for f in setting_fields()}

    def config(self) -> ExecutorConfig:
        """The validated executor configuration (raises on an inconsistent combination)."""
        return config_from(self.settings())


@dataclass
class CpgComponent(dg.StateBackedComponent, dg.Resolvable):
    """A cpg project (its SQL views, or the built-in CPG) as Dagster assets and checks."""

    project: ProjectPath = None
    repo: RepoPath = None
    store: StorePath = None
    key_prefix: KeyPrefix = ()
    group_name: str | None = None
    execution: CpgExecution = field(default_factory=CpgExecution)
    defs_state: ResolvedDefsStateConfig = field(
        default_factory=DefsStateConfigArgs.local_filesystem
    )

    def __post_init__(self) -> None:
        self._project_root: Path | None = None  # the dg project, set when loaded from defs.yaml
        self._defs_dir: Path | None = None  # the folder of this component's defs.yaml
        self.execution.config()  # fail at load, not at the first run

    @classmethod
    def load(cls, attributes: BaseModel | None, context: dg.ComponentLoadContext) -> Self:
        component = super().load(attributes, context)
        component._project_root = context.project_root
        component._defs_dir = context.path
        return component

    # -- settings ------------------------------------------------------------------------------

    @property
    def defs_state_config(self) -> DefsStateConfig:
        """State key `CpgComponent[<key prefix>]` unless `defs_state.key` names one: components
        in one deployment need different key prefixes anyway (or their asset keys collide)."""
        discriminator = "/".join(self.key_prefix) or "default"
        return DefsStateConfig.from_args(
            self.defs_state, default_key=f"{type(self).__name__}[{discriminator}]"
        )

    @property
    def where(self) -> str:
        """The component's defs.yaml, for messages."""
        return str(self._defs_dir / "defs.yaml") if self._defs_dir else f"{type(self).__name__}"

    def load_project(self) -> Project:
        """The cpg project with this component's repo and store applied.

        Without a project file: the built-in CPG views over `repo` (default: the dg project
        folder), stored in `store` (default: `.cpg/store` in the dg project folder)."""
        return open_project(self.project, repo=self.repo, store=self.store, root=self._project_root)

    def get_translator(self) -> CpgTranslator:
        """The translator of this component's assets (override to customize the mapping)."""
        return CpgTranslator(key_prefix=self.key_prefix, group_name=self.group_name)

    def get_resource(self, project: Project) -> Any:
        """The `CpgResource` the assets run with: this component's project, repo, store and
        execution settings."""
        from cpg_dagster.resource import CpgResource

        return CpgResource(
            project_file=str(self.project) if self.project is not None else None,
            repo=str(project.repo) if project.repo is not None else None,
            store=str(project.store),
            **self.execution.settings(),
        )

    # -- state ---------------------------------------------------------------------------------

    def write_state_to_path(self, state_path: Path) -> None:
        """Compile the project (compile cache in its store) and write the plan file."""
        from cpg_core.plan import compile_plan

        plan = compile_plan(self.load_project())
        write_plan(plan, state_path)

    def _missing_state(self, reason: str) -> CpgComponentStateError:
        config = self.defs_state_config
        root = self._project_root or Path.cwd()
        on_load = (
            "`dagster dev` and `dg` commands compile it on load (refresh_if_dev), other loaders "
            "do not"
            if config.refresh_if_dev
            else "or set `defs_state: {refresh_if_dev: true}` so that `dagster dev` and `dg` "
            "compile it on load"
        )
        return CpgComponentStateError(
            f"{type(self).__name__} ({self.where}) {reason} "
            f"[defs state key {config.key!r}, {config.management_type.value}]. "
            f"Compile the plan with `{REFRESH_COMMAND}` in {root} (with LOCAL_FILESYSTEM state, "
            f"run it while building the deploy image); {on_load}. Refusing to load zero assets."
        )

    def load_plan(self, state_path: Path | None) -> tuple[ExecutionPlan, Project]:
        """The plan restored from the state file, for this component's project."""
        if state_path is None:
            raise self._missing_state("has no compiled plan state")
        project = self.load_project()
        try:
            record = read_plan_file(state_path)
            plan = record.plan(project)
        except PlanFileError as error:
            raise self._missing_state(f"cannot use its plan state {state_path}: {error}") from error
        if record.views_digest != views_digest(project):
            log.warning(
                "%s: the view files changed since the plan state was written; the assets show "
                "the old plan until `%s` runs",
                self.where,
                REFRESH_COMMAND,
            )
        return plan, project

    def build_defs_from_state(
        self, context: dg.ComponentLoadContext, state_path: Path | None
    ) -> dg.Definitions:
        """Definitions from the compiled plan (raises when there is no state)."""
        if self._project_root is None:
            self._project_root = context.project_root
            self._defs_dir = context.path
        from cpg_dagster.definitions import cpg_definitions

        with paused_gc():  # thousands of specs: millions of live objects
            plan, project = self.load_plan(state_path)
            return cpg_definitions(
                plan,
                project=project,
                translator=self.get_translator(),
                resource=self.get_resource(project),
            )
