"""The default code location: the CPG of an embedded repository, built into `.cpg/store`.

Loaded by `workspace.yaml` (`dagster dev -w workspace.yaml`) and by the README's main command.
The embedded repository is cpg's own source tree (the folder holding `cpg_core`: a real Python
code base that ships with every install). `CPG_REPO` and `CPG_STORE` override repository and store.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import dagster as dg

from cpg_core.plan import compile_plan
from cpg_core.project import Project
from cpg_core.views.loader import package_root
from cpg_dagster.definitions import cpg_definitions


def default_project() -> Project:
    """The built-in CPG views over the embedded repository (or $CPG_REPO), store $CPG_STORE."""
    repo = Path(os.environ.get("CPG_REPO") or package_root()).resolve()
    store = Path(os.environ.get("CPG_STORE") or ".cpg/store").resolve()
    return dataclasses.replace(Project.from_views([], include_cpg=True), repo=repo, store=store)


def default_definitions() -> dg.Definitions:
    project = default_project()
    return cpg_definitions(compile_plan(project), project=project)


defs = default_definitions()
