"""Repository scan: file listing (git and walk), module names, scan units."""

from __future__ import annotations

import pickle
import subprocess
from pathlib import Path
from typing import Any

import pytest

from cpg_core.extract import ScanUnit, extract_file, scan_repo
from cpg_core.extract.model import ExtractOptions, FileInfo
from cpg_core.extract.modules import module_for, package_dirs, resolve_relative
from cpg_core.extract.scan import RepositoryUnavailableError, check_repository, make_units


def _touch(root: Path, *paths: str) -> None:
    for p in paths:
        target = root / p
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("x = 1\n")


def _paths(root: Path, **kw: Any) -> list[str]:
    return [f.path for f in scan_repo(root, **kw).files]


def test_walk_skips_noise(tmp_path: Path) -> None:
    _touch(
        tmp_path,
        "pkg/__init__.py",
        "pkg/mod.py",
        "pkg/__pycache__/mod.cpython-311.py",
        ".hidden/secret.py",
        ".venv/lib/site.py",
        "env/pyvenv.cfg",
        "env/lib/python3.11/site-packages/dep.py",
        "build/lib/pkg/mod.py",
        "dist/whatever.py",
        "pkg/build/__init__.py",
        "pkg/build/step.py",
        "lib/site-packages/dep.py",
        "thing.egg-info/x.py",
        "notes.txt",
        "tool.pyw",
    )
    assert _paths(tmp_path) == [
        "pkg/__init__.py",
        "pkg/build/__init__.py",
        "pkg/build/step.py",
        "pkg/mod.py",
    ]


def test_walk_survives_symlink_loops(tmp_path: Path) -> None:
    _touch(tmp_path, "a/mod.py")
    (tmp_path / "a" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    assert _paths(tmp_path) == ["a/mod.py"]


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def test_git_mode_respects_gitignore(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    _touch(tmp_path, "keep.py", "generated/out.py", "vendor/.venv/x.py", "new_untracked.py")
    (tmp_path / ".gitignore").write_text("generated/\n")
    _git(tmp_path, "add", "keep.py", ".gitignore")
    scan = scan_repo(tmp_path)
    assert scan.mode == "git"
    # tracked + untracked-but-not-ignored; git decides, not the walk's skip list
    assert [f.path for f in scan.files] == ["keep.py", "new_untracked.py", "vendor/.venv/x.py"]
    assert scan_repo(tmp_path, use_git=False).mode == "walk"


def test_git_subdirectory_lists_relative_paths(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    _touch(tmp_path, "top.py", "sub/pkg/__init__.py", "sub/pkg/m.py")
    scan = scan_repo(tmp_path / "sub")
    assert scan.mode == "git"
    assert [(f.path, f.module) for f in scan.files] == [
        ("pkg/__init__.py", "pkg"),
        ("pkg/m.py", "pkg.m"),
    ]


def test_ignored_root_inside_git_tree_is_walked(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / ".gitignore").write_text("scratch/\n")
    _touch(tmp_path, "scratch/a.py")
    scan = scan_repo(tmp_path / "scratch")
    assert (scan.mode, [f.path for f in scan.files]) == ("walk", ["a.py"])


@pytest.mark.parametrize(
    ("paths", "path", "expected"),
    [
        (["pkg/__init__.py"], "pkg/__init__.py", ("pkg", "", True)),
        (["pkg/__init__.py"], "pkg/mod.py", ("pkg.mod", "", False)),
        (["a/pkg/__init__.py"], "a/pkg/mod.py", ("pkg.mod", "a", False)),
        (["pkg/__init__.py", "pkg/sub/__init__.py"], "pkg/sub/m.py", ("pkg.sub.m", "", False)),
        ([], "pkg/sub/m.py", ("pkg.sub.m", "", False)),  # a namespace package (PEP 420)
        (["pkg/__init__.py"], "pkg/data/m.py", ("pkg.data.m", "", False)),  # namespace inside
        ([], "my-tools/gen/m.py", ("gen.m", "my-tools", False)),  # `my-tools` is no identifier
        ([], "setup.py", ("setup", "", False)),
        (["src/pkg/__init__.py"], "src/pkg/m.py", ("pkg.m", "src", False)),
        ([], "src/ns/pkg/m.py", ("ns.pkg.m", "src", False)),  # src layout: namespace packages
        (["src/__init__.py"], "src/m.py", ("src.m", "", False)),  # `src` is itself a package
        ([], "src/conftest.py", ("conftest", "src", False)),
        (["__init__.py"], "__init__.py", ("__init__", "", True)),
    ],
)
def test_module_names(paths: list[str], path: str, expected: tuple[str, str, bool]) -> None:
    assert module_for(path, package_dirs(paths)) == expected


def test_root_that_is_a_package(tmp_path: Path) -> None:
    _touch(tmp_path, "outer/__init__.py", "outer/inner/__init__.py", "outer/inner/m.py")
    scan = scan_repo(tmp_path / "outer" / "inner")
    assert [(f.path, f.module) for f in scan.files] == [
        ("__init__.py", "outer.inner"),
        ("m.py", "outer.inner.m"),
    ]


@pytest.mark.parametrize(
    ("module", "is_package", "level", "name", "expected"),
    [
        ("pkg.mod", False, 0, "os", "os"),
        ("pkg.mod", False, 1, None, "pkg"),
        ("pkg.mod", False, 1, "sib", "pkg.sib"),
        ("pkg.sub.mod", False, 2, "x", "pkg.x"),
        ("pkg", True, 1, "mod", "pkg.mod"),
        ("pkg.sub", True, 2, None, "pkg"),
        ("pkg.mod", False, 2, "x", None),  # beyond the top-level package
        ("script", False, 1, "x", None),  # no parent package
    ],
)
def test_resolve_relative(
    module: str, is_package: bool, level: int, name: str | None, expected: str | None
) -> None:
    assert resolve_relative(module, is_package, level, name) == expected


def test_units_partition_files_in_path_order(tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"m{i:02d}.py").write_text("x = 1\n" * (i + 1))
    scan = scan_repo(tmp_path, unit_bytes=100, max_file_bytes=123, unit_max_files=4)
    flat = [f for u in scan.units for f in u.files]
    assert flat == list(scan.files)
    assert [u.index for u in scan.units] == list(range(len(scan.units)))
    for unit in scan.units:
        assert unit.total_bytes == sum(f.size or 0 for f in unit.files)
        assert len(unit.files) <= 4
        assert len(unit.files) == 1 or unit.total_bytes <= 100
        assert unit.options == ExtractOptions(max_file_bytes=123)
    assert scan == scan_repo(tmp_path, unit_bytes=100, max_file_bytes=123, unit_max_files=4)


def test_units_and_results_pickle(tmp_path: Path) -> None:
    _touch(tmp_path, "a.py")
    scan = scan_repo(tmp_path)
    assert pickle.loads(pickle.dumps(scan)) == scan
    unit = scan.units[0]
    assert isinstance(pickle.loads(pickle.dumps(unit)), ScanUnit)
    evidence = extract_file(unit.root, unit.files[0])
    assert pickle.loads(pickle.dumps(evidence)) == evidence


def test_make_units_empty() -> None:
    assert make_units("/x", (), ExtractOptions()) == ()


def test_undecodable_file_name(tmp_path: Path) -> None:
    raw = bytes(tmp_path) + b"/caf\xe9.py"
    with open(raw, "wb") as fh:  # noqa: PTH123 - a bytes path on purpose
        fh.write(b"x = 1\n")
    scan = scan_repo(tmp_path)
    [info] = scan.files
    assert info.path == "caf\\xe9.py"
    assert info.fs_path != info.path
    evidence = extract_file(scan.root, info)
    assert evidence["extract_errors"] == []
    assert evidence["files"][0][1] == "caf\\xe9.py"
    assert isinstance(info, FileInfo)


def test_empty_repository_gives_empty_tables(tmp_path: Path) -> None:
    from cpg_core.extract import EVIDENCE_SCHEMAS, extract_repo

    tables = extract_repo(tmp_path, workers=2)
    assert list(tables) == list(EVIDENCE_SCHEMAS)
    for name, table in tables.items():
        assert table.num_rows == 0
        assert table.schema.equals(EVIDENCE_SCHEMAS[name])


def test_check_repository_names_what_is_wrong_with_the_root(tmp_path: Path) -> None:
    (tmp_path / "repo").mkdir()
    (tmp_path / "file.py").write_text("x = 1\n", encoding="utf-8")
    assert check_repository(tmp_path / "repo") == (tmp_path / "repo").resolve()
    with pytest.raises(RepositoryUnavailableError, match=r"gone does not exist \(moved"):
        check_repository(tmp_path / "gone")
    with pytest.raises(RepositoryUnavailableError, match=r"file\.py is not a folder"):
        check_repository(tmp_path / "file.py")
