"""`CpgResource`: where a build's project, repository and store are, and how it executes.

A `ConfigurableResource` so every field shows (and can be changed) in the launchpad. The build
settings are `ExecutorConfig`'s (`cpg_core.settings`): each field here takes its default and
description from there, is validated by it when the resource is made (not half-way through a
run), and a test checks that the resource offers exactly those settings.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from pydantic import Field, model_validator

from cpg_core.project import Project, open_project
from cpg_core.settings import ExecutorConfig, config_from, setting, setting_fields


def _setting(name: str) -> Any:
    field = setting(name)
    return Field(default=field.default, description=field.description)


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
    mode: str = _setting("mode")
    executor: str = _setting("executor")
    max_tasks: int = _setting("max_tasks")
    remote_threshold_s: float = _setting("remote_threshold_s")
    target_partitions: int | None = _setting("target_partitions")
    memory_limit_mb: int | None = _setting("memory_limit_mb")
    lock_timeout_s: float = _setting("lock_timeout_s")

    @model_validator(mode="after")
    def _valid_settings(self) -> CpgResource:
        self.executor_config()  # an inconsistent combination fails here, naming the field
        return self

    def load_project(self) -> Project:
        """The project with this resource's repo and store applied."""
        return open_project(self.project_file, repo=self.repo, store=self.store)

    def executor_config(self) -> ExecutorConfig:
        """The typed executor configuration (raises with the field at fault when inconsistent)."""
        return config_from({f.name: getattr(self, f.name) for f in setting_fields()})
