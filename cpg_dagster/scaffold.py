"""`dg scaffold defs cpg_dagster.component.CpgComponent NAME [--project-path FILE | --init]`.

Like dagster-dbt's component scaffolder (`--project-path` / `--init`), through Dagster's
Scaffolder API: the params model becomes the command's options, `scaffold` writes the folder.

- no option: a `defs.yaml` for the built-in CPG of the dg project's own code;
- `--project-path FILE`: a `defs.yaml` pointing at an existing cpg.toml or pyproject.toml
  ([tool.cpg]), relative to the new folder; the project must load (else a clear error);
- `--init`: a starter `cpg.toml` (the built-in CPG of the dg project plus a `views/` folder)
  and one view in `views/`, and a `defs.yaml` pointing at them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import dagster as dg
from dagster.components.component_scaffolding import scaffold_component
from pydantic import BaseModel, Field, model_validator

from cpg_core.project import ProjectError, load_project

STARTER_VIEW = "definitions_per_file.sql"
STARTER_SQL = """\
-- Functions and classes defined in each Python file of the repository.
-- @keys: path
SELECT path, count(*) AS definitions
FROM cpg_nodes
WHERE node_kind IN ('FUNCTION', 'CLASS')
GROUP BY path
"""


class CpgScaffoldError(ValueError):
    """The scaffold options cannot be followed (the message says why)."""


class CpgScaffoldParams(BaseModel):
    """The options of `dg scaffold defs cpg_dagster.component.CpgComponent NAME`.

    Checked here, before anything is written: `dg` reports a failed check as a clean
    "Error validating scaffold parameters" message."""

    project_path: str | None = Field(
        default=None, description="an existing cpg.toml or pyproject.toml ([tool.cpg])"
    )
    init: bool = Field(default=False, description="write a starter cpg.toml and views/")

    @model_validator(mode="after")
    def _usable(self) -> CpgScaffoldParams:
        if self.init and self.project_path:
            raise CpgScaffoldError("pass --project-path or --init, not both")
        if self.project_path:
            project_file(self.project_path)
        return self


class CpgComponentScaffolder(dg.Scaffolder[CpgScaffoldParams]):
    @classmethod
    def get_scaffold_params(cls) -> type[CpgScaffoldParams]:
        return CpgScaffoldParams

    def scaffold(self, request: dg.ScaffoldRequest[CpgScaffoldParams]) -> None:
        params = request.params
        attributes: dict[str, Any] = {}
        if params.init:
            attributes["project"] = write_starter(request.target_path, request.project_root)
        elif params.project_path:
            attributes["project"] = _relative(
                project_file(params.project_path), request.target_path
            )
        scaffold_component(request, attributes)


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()


def project_file(project_path: str) -> Path:
    """The project file `project_path` (relative to the current folder) names, once it loads."""
    path = Path(project_path)
    try:
        project = load_project(path)
    except (ProjectError, OSError) as error:
        raise CpgScaffoldError(f"--project-path {project_path}: {error}") from None
    return project.config_path or path


def write_starter(target: Path, project_root: Path | None) -> str:
    """A starter project in `target`: the built-in CPG of the dg project's code and one view."""
    target.mkdir(parents=True, exist_ok=True)
    root = project_root or target
    views = target / "views"
    views.mkdir(exist_ok=True)
    (views / STARTER_VIEW).write_text(STARTER_SQL, encoding="utf-8")
    (target / "cpg.toml").write_text(
        "# A cpg project: SQL views over the code property graph of `repo` (`cpg plan` checks\n"
        "# them, `cpg build` builds them). Paths are relative to this file.\n"
        'views = ["views"]\n'
        "include_cpg = true  # the built-in CPG views: cpg_nodes, cpg_edges, cpg_props, ...\n"
        f'repo = "{_relative(root, target)}"\n'
        f'store = "{_relative(root / ".cpg" / "store", target)}"\n',
        encoding="utf-8",
    )
    return "cpg.toml"
