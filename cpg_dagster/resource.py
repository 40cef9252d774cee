"""`CpgResource`: where a build's project, repository and store are, and how it executes.

A `ConfigurableResource` so every field shows (and can be changed) in the launchpad, and the
executor settings are validated by `ExecutorConfig` before a run starts, not half-way through.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import dagster as dg
import msgspec
from pydantic import Field

from cpg_core.execute.config import ExecutorConfig
from cpg_core.project import Project, load_project
from cpg_core.store.delta_store import DEFAULT_LOCK_TIMEOUT_S


class CpgResource(dg.ConfigurableResource):
    """Project, repository, store and execution settings of cpg builds."""

    project_file: str | None = Field(
        default=None, description="cpg.toml or pyproject.toml; none: the built-in CPG views"
    )
    repo: str | None = Field(
        default=None, description="repository whose CPG is built (default: the project's repo)"
    )
    store: str | None = Field(
        default=None, description="Delta store folder (default: the project's store)"
    )
    mode: str = Field(default="serial", description="serial | parallel | remote")
    executor: str = Field(default="threads", description="threads | processes | ray | dask")
    max_tasks: int = Field(default=2, description="views at once in parallel/remote mode")
    remote_threshold_s: float = Field(
        default=1.0, description="remote mode: planned seconds from which a view runs remotely"
    )
    memory_limit_mb: int | None = Field(
        default=None,
        ge=1,
        description="MiB the views' queries may hold (split between tasks running at once); "
        "a view that cannot fit fails by name instead of the process being killed",
    )
    lock_timeout_s: float = Field(
        default=DEFAULT_LOCK_TIMEOUT_S,
        ge=0,
        description="seconds a run waits while another build holds the store, then fails with "
        "'store is busy' (0: fail at once; $CPG_STORE_LOCK_TIMEOUT overrides)",
    )

    def load_project(self) -> Project:
        """The project with this resource's repo and store applied."""
        project = (
            load_project(self.project_file)
            if self.project_file
            else Project.from_views([], include_cpg=True)
        )
        if self.repo:
            project = dataclasses.replace(project, repo=Path(self.repo).resolve())
        if self.store:
            project = dataclasses.replace(project, store=Path(self.store).resolve())
        return project

    def executor_config(self) -> ExecutorConfig:
        """The typed executor configuration (raises with the field at fault when inconsistent)."""
        fields = {
            "mode": self.mode,
            "kind": self.executor,
            "max_tasks": self.max_tasks,
            "remote_threshold_s": self.remote_threshold_s,
            "memory_limit_mb": self.memory_limit_mb,
        }
        return msgspec.convert(fields, ExecutorConfig)
