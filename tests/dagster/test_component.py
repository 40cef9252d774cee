"""CpgComponent: its state (the compiled plan's file) and loading it, in process through
Dagster's defs-folder sandbox and out of process through the real `dg` CLI on a dg project."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster.components.core.component_tree import ComponentTree
from dagster.components.testing import DefsFolderSandbox, create_defs_folder_sandbox

from cpg_core.plan import compile_plan
from cpg_core.plan.plan_file import (
    read_plan_file,
)
from cpg_core.project import load_project
from cpg_core.settings import ExecutorConfigError
from cpg_dagster.component import (
    CpgComponent,
    CpgComponentStateError,
    CpgExecution,
    CpgTranslation,
)
from cpg_dagster.resource import CpgResource
from tests.dagster.projects import write_user_project
from tests.paths import FIXTURE_REPO

COMPONENT = "cpg_dagster.component.CpgComponent"
VENV_BIN = Path(sys.executable).parent


# -- in process: Dagster's defs-folder sandbox -------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[DefsFolderSandbox]:
    with create_defs_folder_sandbox() as box:
        yield box


def add_component(sandbox: DefsFolderSandbox, name: str, attributes: dict[str, object]) -> Path:
    path = sandbox.defs_folder_path / name
    path.mkdir()
    document = {"type": COMPONENT, "attributes": attributes}
    (path / "defs.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def load_component(tree: ComponentTree, path: Path) -> CpgComponent:
    component = tree.load_component(path)
    assert isinstance(component, CpgComponent)
    return component


def state_error(error: BaseException) -> CpgComponentStateError:
    """The component's own error inside Dagster's wrapping exceptions."""
    found: BaseException | None = error
    while found is not None and not isinstance(found, CpgComponentStateError):
        found = found.__cause__
    assert found is not None, f"no CpgComponentStateError in {error!r}"
    return found


def test_missing_state_fails_loudly(sandbox: DefsFolderSandbox, tmp_path: Path) -> None:
    toml = write_user_project(tmp_path)
    path = add_component(
        sandbox, "shop", {"project": str(toml), "translation": {"key_prefix": ["shop"]}}
    )
    with pytest.raises(Exception) as caught, sandbox.load_component_and_build_defs(defs_path=path):
        pass
    error = state_error(caught.value)
    message = str(error)
    assert "CpgComponent" in message and str(path / "defs.yaml") in message
    assert "has no compiled plan state" in message
    assert "dg utils refresh-defs-state" in message and "CpgComponent[shop]" in message
    assert "Refusing to load zero assets" in message


def test_refreshed_state_builds_the_definitions(sandbox: DefsFolderSandbox, tmp_path: Path) -> None:
    toml = write_user_project(tmp_path)
    path = add_component(
        sandbox,
        "shop",
        {
            "project": str(toml),
            "translation": {"key_prefix": ["shop"]},
            "execution": {"mode": "parallel", "max_tasks": 3},
        },
    )
    with sandbox.build_component_tree() as tree:
        component = load_component(tree, path)
        assert component.defs_state_config.key == "CpgComponent[shop]"
        asyncio.run(component.refresh_state(sandbox.project_root))
    with sandbox.load_component_and_build_defs(defs_path=path) as (loaded, defs):
        assert isinstance(loaded, CpgComponent)
        keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
        assert {"shop/customer_totals", "shop/by_country", "shop/broken", "shop/orders"} <= keys
        assert "shop/orders_clean" not in keys  # inline view
        key = dg.AssetKey(["shop", "customer_totals"])
        spec = defs.resolve_assets_def(key).specs_by_key[key]
        plan = compile_plan(load_project(toml), cache=False)
        assert spec.code_version == plan.tasks["customer_totals"].fingerprint
        resource = defs.resources["shop_cpg"] if defs.resources else None
        assert isinstance(resource, CpgResource)
        assert resource.project_file == str(toml) and resource.mode == "parallel"
        assert resource.max_tasks == 3
        assert resource.store == str(plan.project.store)


def test_definitions_of_a_project_with_sources_are_loadable(
    sandbox: DefsFolderSandbox, tmp_path: Path
) -> None:
    toml = write_user_project(tmp_path)
    path = add_component(
        sandbox, "shop", {"project": str(toml), "translation": {"key_prefix": ["shop"]}}
    )
    with sandbox.build_component_tree() as tree:
        asyncio.run(load_component(tree, path).refresh_state(sandbox.project_root))
    with sandbox.load_component_and_build_defs(defs_path=path) as (_component, defs):
        dg.Definitions.validate_loadable(defs)


def test_damaged_state_fails_loudly(sandbox: DefsFolderSandbox, tmp_path: Path) -> None:
    toml = write_user_project(tmp_path)
    path = add_component(sandbox, "shop", {"project": str(toml)})
    with sandbox.build_component_tree() as tree:
        component = load_component(tree, path)
        asyncio.run(component.refresh_state(sandbox.project_root))
    state = next((sandbox.defs_folder_path / ".local_defs_state").glob("*/state"))
    state.write_text("{}", encoding="utf-8")
    with pytest.raises(Exception) as caught, sandbox.load_component_and_build_defs(defs_path=path):
        pass
    error = state_error(caught.value)
    assert "cannot use its plan state" in str(error) and "dg utils refresh-defs-state" in str(error)


def test_changed_views_warn_that_the_state_is_stale(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    toml = write_user_project(tmp_path)
    component = CpgComponent(project=toml)
    state = tmp_path / "state"
    component.write_state_to_path(state)
    with caplog.at_level(logging.WARNING, logger="cpg_dagster.component"):
        plan, _project = component.load_plan(state)
    assert not caplog.records
    view = tmp_path / "views" / "broken.sql"
    view.write_text("SELECT order_id FROM orders\n", encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="cpg_dagster.component"):
        again, _project = component.load_plan(state)
    assert again.signature == plan.signature  # the old plan, until refreshed
    assert "changed since the plan state was written" in caplog.text


def test_builtin_project_defaults(tmp_path: Path) -> None:
    component = CpgComponent(
        repo=FIXTURE_REPO,
        store=tmp_path / "store",
        translation=CpgTranslation(key_prefix=("a", "b")),
    )
    project = component.load_project()
    assert project.include_cpg and project.repo == FIXTURE_REPO.resolve()
    assert project.store == (tmp_path / "store").resolve()
    assert component.defs_state_config.key == "CpgComponent[a/b]"
    assert component.get_translator().key_prefix == ("a", "b")


def test_inconsistent_execution_settings_fail_at_load() -> None:
    with pytest.raises(ExecutorConfigError, match="parallel mode"):
        CpgComponent(execution=CpgExecution(mode="parallel", executor="ray"))


# -- out of process: the real `dg` CLI on a dg project ------------------------------------------------

DG_PYPROJECT = """\
[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.11"

[tool.dg]
directory_type = "project"

[tool.dg.project]
root_module = "{name}"

[tool.dg.cli.telemetry]
enabled = false
"""
DG_DEFINITIONS = """\
from pathlib import Path
from typing import Any

import dagster as dg
from dagster.components import load_from_defs_folder


@dg.definitions
def defs() -> dg.Definitions:
    return load_from_defs_folder(path_within_project=Path(__file__).parent)
"""


def dg_project(root: Path, name: str, attributes: dict[str, object]) -> Path:
    """A minimal dg project (flat layout) whose `defs/cpg/defs.yaml` uses CpgComponent."""
    root.mkdir(parents=True)
    (root / "pyproject.toml").write_text(DG_PYPROJECT.format(name=name), encoding="utf-8")
    package = root / name
    (package / "defs" / "cpg").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "defs" / "__init__.py").write_text("", encoding="utf-8")
    (package / "definitions.py").write_text(DG_DEFINITIONS, encoding="utf-8")
    document = {"type": COMPONENT, "attributes": attributes}
    (package / "defs" / "cpg" / "defs.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    return root


def run_dg(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    home = project.parent / "dagster_home"
    home.mkdir(exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DAGSTER_")}
    env |= {
        "DAGSTER_HOME": str(home),
        "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        # What installing the project does: `dg utils refresh-defs-state` imports it in-process.
        "PYTHONPATH": str(project),
    }
    dg_bin = shutil.which("dg", path=str(VENV_BIN))
    assert dg_bin is not None, "dagster-dg-cli is not installed in the venv"
    return subprocess.run(
        [dg_bin, *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def listed(project: Path) -> dict[str, list[dict[str, Any]]]:
    done = run_dg(project, "list", "defs", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout)


def write_cpg_views_project(root: Path) -> Path:
    """User views over the CPG tables of the fixture repository (one invalid), with a cpg.toml."""
    (root / "views" / "reports").mkdir(parents=True)
    (root / "views" / "reports" / "calls_per_file.sql").write_text(
        "-- Call sites per file.\n-- @keys: path\n"
        "SELECT path, count(*) AS calls FROM cpg_nodes WHERE node_kind = 'CALL' GROUP BY path\n",
        encoding="utf-8",
    )
    (root / "views" / "broken.sql").write_text("SELECT nope FROM cpg_nodes\n", encoding="utf-8")
    toml = root / "cpg.toml"
    toml.write_text(
        f'views = ["views"]\ninclude_cpg = true\nrepo = "{FIXTURE_REPO.as_posix()}"\n',
        encoding="utf-8",
    )
    return toml


@pytest.mark.slow
def test_dg_check_and_list_defs_of_a_views_project(tmp_path: Path) -> None:
    toml = write_cpg_views_project(tmp_path / "views_project")
    project = dg_project(
        tmp_path / "dgproj",
        "cpg_dg_reports",
        {"project": "../../../../views_project/cpg.toml", "translation": {"key_prefix": "rep"}},
    )
    done = run_dg(project, "check", "defs")
    assert done.returncode == 0, done.stdout + done.stderr
    defs = listed(project)
    assets = {a["asset_key"]: a for a in defs["assets"]}
    assert {"rep/calls_per_file", "rep/broken", "rep/cpg_nodes", "rep/files"} <= set(assets)
    assert assets["rep/calls_per_file"]["group_name"] == "reports"
    assert "rep/cpg_nodes" in assets["rep/calls_per_file"]["dependency_keys"]
    assert "rep/edge_calls" not in assets  # inline
    checks = {c["key"] for c in defs["asset_checks"]}
    assert {"rep/calls_per_file:keys_unique", "rep/broken:admitted"} <= checks
    assert "rep/check_edge_endpoint_kinds:is_empty" in checks
    assert "rep/cpg_edges:no_dangling_edges" in checks
    (state,) = (project / "cpg_dg_reports" / "defs" / ".local_defs_state").glob("*/state")
    assert state.parent.name.startswith("CpgComponent__rep")
    plan = read_plan_file(state).plan(load_project(toml))
    assert plan.signature == compile_plan(load_project(toml), cache=False).signature


@pytest.mark.slow
def test_dg_without_state_fails_until_refreshed(tmp_path: Path) -> None:
    project = dg_project(
        tmp_path / "dgproj",
        "cpg_dg_builtin",
        {
            "repo": str(FIXTURE_REPO),
            "store": "../../../store",
            "translation": {"key_prefix": ["code"]},
            "defs_state": {"management_type": "LOCAL_FILESYSTEM", "refresh_if_dev": False},
        },
    )
    failed = run_dg(project, "check", "defs")
    assert failed.returncode != 0
    output = failed.stdout + failed.stderr
    assert "CpgComponentStateError" in output and "has no compiled plan state" in output
    assert "dg utils refresh-defs-state" in output
    assert "cpg_dg_builtin/defs/cpg/defs.yaml" in output

    refreshed = run_dg(project, "utils", "refresh-defs-state")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    defs = listed(project)
    assets = {a["asset_key"] for a in defs["assets"]}
    assert {"code/cpg_nodes", "code/cpg_edges", "code/defs"} <= assets
    assert "code/cpg_edges:no_dangling_edges" in {c["key"] for c in defs["asset_checks"]}
    assert (tmp_path / "dgproj" / "store" / "_cpg" / "compile_cache.msgpack").is_file()


@pytest.mark.slow
def test_dg_lists_the_component_type(tmp_path: Path) -> None:
    project = dg_project(tmp_path / "dgproj", "cpg_dg_types", {})
    done = run_dg(project, "list", "components", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    found = {item["key"]: item["summary"] for item in json.loads(done.stdout)["items"]}
    assert COMPONENT in found  # through the dagster_dg_cli.registry_modules entry point


@pytest.mark.slow
def test_dg_scaffold_with_init_and_with_a_project_path(tmp_path: Path) -> None:
    """`dg scaffold defs ... NAME --init true` (dg 1.13 takes a boolean scaffolder option with a
    value) writes a starter project that loads; `--project-path` must name a project."""
    project = dg_project(tmp_path / "dgproj", "cpg_dg_scaffold", {})
    shutil.rmtree(project / "cpg_dg_scaffold" / "defs" / "cpg")
    scaffold = ["scaffold", "defs", COMPONENT]
    done = run_dg(project, *scaffold, "reports", "--init", "true")
    assert done.returncode == 0, done.stdout + done.stderr
    folder = project / "cpg_dg_scaffold" / "defs" / "reports"
    assert (folder / "cpg.toml").is_file() and (folder / "views").is_dir()
    pointed = run_dg(project, *scaffold, "again", "--project-path", str(folder / "cpg.toml"))
    assert pointed.returncode == 0, pointed.stdout + pointed.stderr
    missing = run_dg(project, *scaffold, "missing", "--project-path", str(tmp_path / "nope"))
    assert missing.returncode != 0
    assert "--project-path" in missing.stdout + missing.stderr
    assert "Traceback" not in missing.stdout + missing.stderr
    assert not (project / "cpg_dg_scaffold" / "defs" / "missing").exists()
    # two components of one project in one code location: different key prefixes needed
    again = folder.parent / "again" / "defs.yaml"
    document = yaml.safe_load(again.read_text("utf-8"))
    document["attributes"]["translation"] = {"key_prefix": "again"}
    again.write_text(yaml.safe_dump(document), encoding="utf-8")
    refreshed = run_dg(project, "utils", "refresh-defs-state")
    assert refreshed.returncode == 0, refreshed.stdout + refreshed.stderr
    defs = listed(project)
    assets = {a["asset_key"] for a in defs["assets"]}
    assert {"definitions_per_file", "again/definitions_per_file", "cpg_nodes"} <= assets
    checked = run_dg(project, "check", "defs")
    assert checked.returncode == 0, checked.stdout + checked.stderr
