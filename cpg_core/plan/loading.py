"""The edge of a compile: everything it reads from disk, read once, before any pass runs.

View files (the project's folders and the built-in CPG), input datasets (evidence schemas,
external sources' real schemas), the persistent compile cache, measured durations and singular
test files. The passes after this (`cpg_core.plan.compiler`) work on what is loaded here; only
the compile cache is written back, at the end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cpg_core.plan.catalog import Dataset, SourceError, read_source
from cpg_core.plan.compile_cache import CompileCache
from cpg_core.problems import Problem, ProblemCode
from cpg_core.project import Project
from cpg_core.store.history import load_durations
from cpg_core.views.loader import (
    builtin_views_dir,
    load_test_dirs,
    load_view_dirs,
    name_problem,
    package_root,
)
from cpg_core.views.model import SingularTestDef, ViewDef


@dataclass
class Loaded:
    """What a compile starts from: every view, every input dataset, the caches, the history."""

    project: Project
    views: list[ViewDef]
    datasets: dict[str, Dataset]
    cache: CompileCache
    history: Mapping[str, float]
    singular_tests: tuple[SingularTestDef, ...] = ()
    problems: list[Problem] = field(default_factory=list)


def load(
    project: Project,
    extra: Sequence[ViewDef] = (),
    *,
    cache: bool = True,
    history: Mapping[str, float] | None = None,
) -> Loaded:
    """Read what compiling `project` (plus programmatic views `extra`) needs."""
    problems: list[Problem] = []
    datasets = _input_datasets(project, problems)
    views = _collect_views(project, extra, problems)
    tests: tuple[SingularTestDef, ...] = ()
    if project.test_dirs:
        loaded_tests = load_test_dirs(project.test_dirs, root=project.root)
        tests = tuple(loaded_tests.tests)
        problems += loaded_tests.problems
    return Loaded(
        project=project,
        views=views,
        datasets=datasets,
        cache=CompileCache(project.compile_cache_path if cache else None),
        history=load_durations(project.store) if history is None else history,
        singular_tests=tests,
        problems=problems,
    )


def _evidence_datasets() -> dict[str, Dataset]:
    from cpg_core.extract.schema import EVIDENCE_SCHEMAS

    return {name: Dataset(name, "evidence", schema) for name, schema in EVIDENCE_SCHEMAS.items()}


def _input_datasets(project: Project, problems: list[Problem]) -> dict[str, Dataset]:
    datasets = _evidence_datasets() if project.include_cpg else {}
    for spec in project.sources:
        invalid_name = name_problem(
            spec.name, project.config_path.name if project.config_path else None, what="source"
        )
        if invalid_name is not None:
            problems.append(invalid_name)
            continue
        try:
            datasets[spec.name] = read_source(spec)
        except SourceError as error:
            problems.append(
                Problem(
                    code=ProblemCode.SOURCE_ERROR,
                    view=spec.name,
                    path=project.config_path.name if project.config_path else None,
                    message=str(error),
                )
            )
    return datasets


def _collect_views(
    project: Project, extra: Sequence[ViewDef], problems: list[Problem]
) -> list[ViewDef]:
    views: list[ViewDef] = []
    if project.include_cpg:
        builtin = load_view_dirs([builtin_views_dir()], root=package_root(), builtin=True)
        views += builtin.views
        problems += builtin.problems
    loaded = load_view_dirs(project.view_dirs, root=project.root)
    views += loaded.views
    problems += loaded.problems
    views += extra
    return views
