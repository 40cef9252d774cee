"""Load views from folders of .sql files (and the built-in CPG views shipped in the package)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from cpg_core.problems import Problem, ProblemCode
from cpg_core.views.metadata import parse_metadata, parse_test_metadata
from cpg_core.views.model import SingularTestDef, ViewDef
from cpg_core.views.names import name_error
from cpg_core.views.test_syntax import RESERVED_TEST_NAMES, TEST_NAME

MAX_VIEW_BYTES = 16 * 2**20  # a view file is SQL someone wrote, not data


@dataclass
class LoadedViews:
    """Views found plus the problems found while loading them (bad names, duplicates, metadata)."""

    views: list[ViewDef] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


@dataclass
class LoadedTests:
    """Singular tests found plus the problems found while loading them."""

    tests: list[SingularTestDef] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def builtin_views_dir() -> Path:
    """The folder of built-in CPG views inside the installed package."""
    return Path(str(resources.files("cpg_core.views") / "builtin"))


def package_root() -> Path:
    """The folder holding the `cpg_core` package (built-in view paths are relative to it)."""
    return builtin_views_dir().parent.parent.parent


def view_from_text(
    name: str, text: str, *, path: str | None = None, builtin: bool = False
) -> tuple[ViewDef, list[Problem]]:
    """Build a view from SQL text, reading its metadata comment block."""
    meta = parse_metadata(text, view=name, path=path)
    view = ViewDef(
        name=name,
        sql=text,
        path=path,
        description=meta.description,
        keys=meta.keys,
        materialize=meta.materialize,
        semantic=meta.semantic,
        tags=meta.tags,
        builtin=builtin,
        tests=meta.tests,
        columns=meta.columns,
        contract=meta.contract,
    )
    return view, meta.problems


def singular_test_from_text(
    name: str, text: str, *, path: str | None = None
) -> tuple[SingularTestDef, list[Problem]]:
    """A singular test from SQL text, reading its comment block (description, severity)."""
    description, severity, problems = parse_test_metadata(text, name=name, path=path)
    test = SingularTestDef(
        name=name, sql=text, path=path, description=description, severity=severity
    )
    return test, problems


def name_problem(name: str, path: str | None, *, what: str = "view") -> Problem | None:
    """An `invalid_name` problem when `name` cannot name a view or table (see `names`)."""
    error = name_error(name)
    if error is None:
        return None
    return Problem(
        code=ProblemCode.INVALID_NAME,
        view=name,
        path=path,
        message=f"invalid {what} name: {error}",
        hint="rename the file to lower_snake_case" if path and what == "view" else None,
    )


def display_path(file: Path, root: Path) -> str:
    """A path that is the same on every machine: relative to `root` when inside it (posix)."""
    return _display_path(file, os.path.realpath(root))


def _display_path(file: Path, real_root: str) -> str:
    real = os.path.realpath(file)
    if real == real_root or real.startswith(real_root.rstrip(os.sep) + os.sep):
        return Path(os.path.relpath(real, real_root)).as_posix()
    return Path(real).as_posix()


def _sql_files(
    dirs: Iterable[Path], root: Path, problems: list[Problem], what: str
) -> Iterator[tuple[str, str, str]]:
    """(name, display path, text) of every readable `*.sql` file of each folder (recursively,
    sorted); folders and files that cannot be read become problems."""
    real_root = os.path.realpath(root)  # once: resolving costs a stat per path component
    for folder in dirs:
        if not folder.is_dir():
            problems.append(
                Problem(
                    code=ProblemCode.SOURCE_ERROR,
                    view=folder.name,
                    path=display_path(folder, root),
                    message=f"{what} folder {display_path(folder, root)} does not exist",
                )
            )
            continue
        for file in sorted(folder.rglob("*.sql")):
            name, path = file.stem, _display_path(file, real_root)
            try:
                if not file.is_file():  # a FIFO would block the read, a device never end
                    raise OSError("not a regular file")
                if file.stat().st_size > MAX_VIEW_BYTES:
                    raise OSError(f"larger than {MAX_VIEW_BYTES // 2**20} MiB")
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as error:
                problems.append(
                    Problem(
                        code=ProblemCode.SOURCE_ERROR,
                        view=name,
                        path=path,
                        message=f"cannot read {what} file: {error}",
                    )
                )
                continue
            yield name, path, text


def load_view_dirs(dirs: Iterable[Path], *, root: Path, builtin: bool = False) -> LoadedViews:
    """Read every `*.sql` file (recursively, sorted) of each folder; the file stem is the name.

    View paths are relative to `root` (the project folder) so problems and artifacts do not
    depend on where the project is checked out."""
    loaded = LoadedViews()
    for name, path, text in _sql_files(dirs, root, loaded.problems, "view"):
        view, problems = view_from_text(name, text, path=path, builtin=builtin)
        loaded.views.append(view)
        loaded.problems.extend(problems)
    return loaded


def test_name_error(name: str) -> str | None:
    """Why a singular test's file name cannot name the test (None: it can)."""
    if name in RESERVED_TEST_NAMES:
        return f"test name {name!r} is reserved for a built-in check"
    if TEST_NAME.fullmatch(name) is None:
        return (
            f"invalid test name {name!r}: use lower-case letters, digits and '_', starting with "
            "a letter (at most 63 characters: it names the test in reports and in Dagster)"
        )
    return None


def load_test_dirs(dirs: Iterable[Path], *, root: Path) -> LoadedTests:
    """Read the singular tests (`*.sql`, the file stem is the test's name) of each folder;
    a name that is invalid or used twice is a problem and the test is left out."""
    loaded = LoadedTests()
    seen: dict[str, str | None] = {}
    for name, path, text in _sql_files(dirs, root, loaded.problems, "test"):
        test, problems = singular_test_from_text(name, text, path=path)
        loaded.problems.extend(problems)
        bad_name = test_name_error(name)
        if bad_name is not None:
            loaded.problems.append(
                Problem(code=ProblemCode.INVALID_NAME, view=name, path=path, message=bad_name)
            )
        elif name in seen:
            loaded.problems.append(
                Problem(
                    code=ProblemCode.DUPLICATE_VIEW,
                    view=name,
                    path=path,
                    message=f"singular test {name!r} is defined twice",
                    hint=f"first definition: {seen[name]}",
                )
            )
        else:
            seen[name] = path
            loaded.tests.append(test)
    return loaded


def check_names(views: Sequence[ViewDef], reserved: Iterable[str]) -> list[Problem]:
    """Names must be valid (`names.name_error`), unique, and must not shadow an input dataset."""
    problems: list[Problem] = []
    seen: dict[str, ViewDef] = {}
    reserved_names = set(reserved)
    for view in views:
        bad_name = name_problem(view.name, view.path)
        if bad_name is not None:
            problems.append(bad_name)
            continue  # never a table, so neither a duplicate nor a shadow of one
        if view.name in seen:
            first = seen[view.name]
            problems.append(
                Problem(
                    code=ProblemCode.DUPLICATE_VIEW,
                    view=view.name,
                    path=view.path,
                    message=f"view {view.name!r} is defined twice",
                    hint=f"first definition: {first.path or '<code>'}",
                )
            )
        elif view.name in reserved_names:
            problems.append(
                Problem(
                    code=ProblemCode.DUPLICATE_VIEW,
                    view=view.name,
                    path=view.path,
                    message=f"view {view.name!r} has the name of an input table",
                    hint="rename the view; input tables come from sources and the CPG evidence",
                )
            )
        else:
            seen[view.name] = view
    return problems
