"""A cpg project: which views, which inputs, where the store is.

Read from `cpg.toml` (top-level keys) or from the `[tool.cpg]` table of a `pyproject.toml`::

    views = ["views"]          # view folders, relative to the project file
    tests = ["tests"]          # singular test folders (default: `tests` when it exists)
    store = ".cpg/store"       # Delta tables, run history, compile cache
    include_cpg = true         # the built-in CPG views over the evidence of `repo`
    repo = "."                 # the repository whose CPG is built

    [sources.orders]           # an external input table, named by its key
    path = "data/orders.parquet"
    format = "parquet"         # parquet | csv | delta (default: from the path)
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import msgspec

from cpg_core.views.names import name_error

SourceFormat = Literal["parquet", "csv", "delta"]
DEFAULT_STORE = ".cpg/store"
DEFAULT_TESTS = "tests"


class ProjectError(ValueError):
    """The project file is missing or malformed (the message names the file and the key)."""


@dataclass(frozen=True)
class SourceSpec:
    """One external input table."""

    name: str
    path: Path
    format: SourceFormat


@dataclass(frozen=True)
class Project:
    """A resolved project: every path is absolute."""

    root: Path
    view_dirs: tuple[Path, ...] = ()
    store: Path = field(default_factory=lambda: Path(DEFAULT_STORE).resolve())
    include_cpg: bool = True
    repo: Path | None = None
    sources: tuple[SourceSpec, ...] = ()
    config_path: Path | None = None
    test_dirs: tuple[Path, ...] = ()  # folders of singular tests (`.sql` files)

    @property
    def compile_cache_path(self) -> Path:
        """Where the persistent compile cache lives (inside the store)."""
        return self.store / "_cpg" / "compile_cache.msgpack"

    @classmethod
    def from_views(
        cls,
        view_dirs: list[Path],
        *,
        store: Path | None = None,
        include_cpg: bool = True,
        repo: Path | None = None,
        sources: tuple[SourceSpec, ...] = (),
        test_dirs: list[Path] | None = None,
    ) -> Project:
        """A project without a project file (e.g. `cpg plan --views DIR`); it has singular
        tests only when `test_dirs` names their folders."""
        root = Path.cwd().resolve()
        return cls(
            root=root,
            view_dirs=tuple(p.resolve() for p in view_dirs),
            store=(store or root / DEFAULT_STORE).resolve(),
            include_cpg=include_cpg,
            repo=(repo or root).resolve() if include_cpg else repo,
            sources=sources,
            test_dirs=tuple(p.resolve() for p in test_dirs or ()),
        )


class _SourceConfig(msgspec.Struct, forbid_unknown_fields=True):
    path: str
    format: SourceFormat | None = None


class _ProjectConfig(msgspec.Struct, forbid_unknown_fields=True):
    views: list[str] = msgspec.field(default_factory=list)
    tests: list[str] | None = None  # None: `tests` when that folder exists
    store: str = DEFAULT_STORE
    include_cpg: bool = True
    repo: str = "."
    sources: dict[str, _SourceConfig] = msgspec.field(default_factory=dict)


def _guess_format(path: Path) -> SourceFormat:
    if (path / "_delta_log").is_dir():
        return "delta"
    if path.suffix.lower() in (".csv", ".tsv"):
        return "csv"
    return "parquet"


def load_project(path: str | Path) -> Project:
    """Load `cpg.toml`, or `[tool.cpg]` of a `pyproject.toml`, or find one of them in a folder."""
    file = Path(path).resolve()
    if file.is_dir():
        candidates = [file / "cpg.toml", file / "pyproject.toml"]
        found = next((c for c in candidates if c.is_file()), None)
        if found is None:
            raise ProjectError(f"no cpg.toml or pyproject.toml in {file}")
        file = found
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ProjectError(f"{file}: {error}") from error
    if file.name == "pyproject.toml":
        data = data.get("tool", {}).get("cpg")
        if data is None:
            raise ProjectError(f"{file}: no [tool.cpg] table")
    try:
        config = msgspec.convert(data, _ProjectConfig)
    except msgspec.ValidationError as error:
        raise ProjectError(f"{file}: {error}") from error
    root = file.parent
    for name in sorted(config.sources):
        error = name_error(name)
        if error is not None:
            raise ProjectError(f"{file}: [sources] {name!r}: invalid source name: {error}")
    sources = tuple(
        SourceSpec(
            name=name,
            path=(root / spec.path).resolve(),
            format=spec.format or _guess_format(root / spec.path),
        )
        for name, spec in sorted(config.sources.items())
    )
    if config.tests is None:
        test_dirs = (root / DEFAULT_TESTS,) if (root / DEFAULT_TESTS).is_dir() else ()
    else:
        test_dirs = tuple(root / t for t in config.tests)
    return Project(
        root=root,
        test_dirs=tuple(t.resolve() for t in test_dirs),
        view_dirs=tuple((root / v).resolve() for v in config.views),
        store=(root / config.store).resolve(),
        include_cpg=config.include_cpg,
        repo=(root / config.repo).resolve(),
        sources=sources,
        config_path=file,
    )


def with_overrides(
    project: Project, *, repo: Path | str | None = None, store: Path | str | None = None
) -> Project:
    """`project` with its repository and/or store replaced (made absolute); None keeps it."""
    if repo is not None:
        project = dataclasses.replace(project, repo=Path(repo).resolve())
    if store is not None:
        project = dataclasses.replace(project, store=Path(store).resolve())
    return project


def open_project(
    project_file: Path | str | None = None,
    *,
    repo: Path | str | None = None,
    store: Path | str | None = None,
    root: Path | None = None,
) -> Project:
    """The one way a project is opened with overrides (CLI, Dagster resource and component,
    default code location): the project file's project, else the built-in CPG views over `root`
    (default: the working directory) stored in `<root>/.cpg/store`; then `repo` and `store`
    replace the project's."""
    if project_file is not None:
        base = load_project(project_file)
    else:
        here = (root or Path.cwd()).resolve()
        base = Project(root=here, store=here / DEFAULT_STORE, include_cpg=True, repo=here)
    return with_overrides(base, repo=repo, store=store)
