"""The default code location: the CPG of an embedded repository, built into `.cpg/store`.

Loaded by `workspace.yaml` (`dagster dev -w workspace.yaml`) and by the README's main command.
The embedded repository is cpg's own source: the checkout when cpg is installed from one (a git
repository, so its data version is its HEAD), else the installed `cpg_core` package (a real
Python code base that ships with every install). `CPG_REPO` and `CPG_STORE` override both.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from cpg_core.plan import compile_plan
from cpg_core.project import DEFAULT_STORE, Project, open_project
from cpg_core.views.loader import package_root
from cpg_dagster.definitions import cpg_definitions


def embedded_repo() -> Path:
    """cpg's own checkout when installed from one, else the installed `cpg_core` package."""
    root = package_root()
    return root if (root / ".git").exists() else root / "cpg_core"


def default_project() -> Project:
    """The built-in CPG views over the embedded repository (or $CPG_REPO), store $CPG_STORE."""
    repo = os.environ.get("CPG_REPO") or embedded_repo()
    return open_project(repo=repo, store=os.environ.get("CPG_STORE") or DEFAULT_STORE)


def default_definitions() -> dg.Definitions:
    project = default_project()
    return cpg_definitions(compile_plan(project), project=project)


defs = default_definitions()
