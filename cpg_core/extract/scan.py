"""Repository scan: which Python files exist, their module names, and scan units.

Git work trees are listed with ``git ls-files`` (tracked plus untracked-but-not-ignored), so the scan
sees what the repository sees; anything else is walked, skipping virtualenvs, caches, build output,
hidden folders and symlink loops. Output order never depends on the file system's listing order.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from cpg_core.extract.model import (
    DEFAULT_UNIT_BYTES,
    DEFAULT_UNIT_MAX_FILES,
    ExtractOptions,
    FileInfo,
    ScanResult,
    ScanUnit,
)
from cpg_core.extract.modules import module_for, package_dirs

PY_SUFFIX = ".py"
# Directory names never worth walking (outside git mode): caches, installed packages, build output.
SKIP_DIRS = frozenset({"__pycache__", "site-packages", "dist-packages", "node_modules"})
# Skipped unless they are regular packages (hold an ``__init__.py``).
SKIP_UNLESS_PACKAGE = frozenset({"build", "dist"})
VENV_MARKERS = ("pyvenv.cfg", "conda-meta")


def scan_repo(
    root: str | os.PathLike[str],
    *,
    max_file_bytes: int | None = None,
    check_compile: bool | None = None,
    unit_bytes: int = DEFAULT_UNIT_BYTES,
    unit_max_files: int = DEFAULT_UNIT_MAX_FILES,
    use_git: bool = True,
) -> ScanResult:
    """List the Python files under ``root`` and group them into scan units.

    ``max_file_bytes``/``check_compile`` travel inside every unit (see ``ExtractOptions``) so a unit
    is a self-contained task.
    """
    root_path = Path(root).resolve()
    listed = _git_list(root_path) if use_git else None
    mode = "git" if listed is not None else "walk"
    rel_paths = listed if listed is not None else list(_walk(root_path))
    files = _file_infos(root_path, rel_paths)
    defaults = ExtractOptions()
    options = ExtractOptions(
        max_file_bytes=defaults.max_file_bytes if max_file_bytes is None else max_file_bytes,
        check_compile=defaults.check_compile if check_compile is None else check_compile,
    )
    units = make_units(str(root_path), files, options, unit_bytes, unit_max_files)
    return ScanResult(root=str(root_path), mode=mode, files=files, units=units)


def make_units(
    root: str,
    files: tuple[FileInfo, ...],
    options: ExtractOptions,
    unit_bytes: int = DEFAULT_UNIT_BYTES,
    unit_max_files: int = DEFAULT_UNIT_MAX_FILES,
) -> tuple[ScanUnit, ...]:
    """Cut the path-ordered files into contiguous batches of about ``unit_bytes`` each.

    Contiguous batches keep path order when units are concatenated by index, so merging never needs
    a sort; many similar-sized units let a pool balance the load dynamically.
    """
    units: list[ScanUnit] = []
    batch: list[FileInfo] = []
    total = 0
    for info in files:
        size = info.size or 0
        if batch and (total + size > unit_bytes or len(batch) >= unit_max_files):
            units.append(ScanUnit(len(units), root, tuple(batch), total, options))
            batch, total = [], 0
        batch.append(info)
        total += size
    if batch:
        units.append(ScanUnit(len(units), root, tuple(batch), total, options))
    return tuple(units)


def _file_infos(root: Path, rel_paths: list[str]) -> tuple[FileInfo, ...]:
    display = {p: _display_path(p) for p in rel_paths}
    ordered = sorted(set(rel_paths), key=lambda p: display[p])
    packages = package_dirs(display[p] for p in ordered)
    root_name = _root_package_name(root) if "" in packages else ""
    infos: list[FileInfo] = []
    for rel in ordered:
        path = display[rel]
        module, source_root, is_package = module_for(path, packages, root_name)
        try:
            size: int | None = (root / rel).stat().st_size
        except OSError:
            size = None
        infos.append(
            FileInfo(
                path=path,
                module=module,
                is_package=is_package,
                source_root=source_root,
                size=size,
                fs_path="" if rel == path else rel,
            )
        )
    return tuple(infos)


def _display_path(rel: str) -> str:
    """POSIX path that is valid UTF-8 (undecodable name bytes shown as backslash escapes)."""
    posix = rel.replace(os.sep, "/") if os.sep != "/" else rel
    try:
        posix.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(posix).decode("utf-8", "backslashreplace")
    return posix


def _root_package_name(root: Path) -> str:
    """Dotted name of a root that is itself a package (parents with ``__init__.py`` included)."""
    parts = [root.name]
    parent = root.parent
    while parent != parent.parent and (parent / "__init__.py").is_file():
        parts.append(parent.name)
        parent = parent.parent
    return ".".join(reversed(parts))


def _git_list(root: Path) -> list[str] | None:
    """``git ls-files`` of the work tree at ``root`` (relative paths), or None if not applicable."""
    try:
        inside = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            check=False,
        )
        if inside.returncode != 0 or inside.stdout.strip() != b"true":
            return None
        # A root inside an ignored folder of an enclosing repository lists nothing: walk it instead.
        ignored = subprocess.run(
            ["git", "-C", str(root), "check-ignore", "-q", "."], capture_output=True, check=False
        )
        if ignored.returncode == 0:
            return None
        out = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    paths = []
    for raw in out.split(b"\0"):
        if raw.endswith(PY_SUFFIX.encode()):
            rel = os.fsdecode(raw)
            if (root / rel).exists() or (root / rel).is_symlink():
                paths.append(rel)
    return paths


def _walk(root: Path) -> Iterator[str]:
    """Relative paths of ``*.py`` files, depth first in name order, following symlinks once."""
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[str, str]] = [(str(root), "")]
    while stack:
        abs_dir, rel_dir = stack.pop()
        try:
            st = Path(abs_dir).stat()
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:  # symlink loop or the same directory twice
            continue
        seen.add(key)
        try:
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError:
            continue
        names = {e.name for e in entries}
        if rel_dir and any(m in names for m in VENV_MARKERS):
            continue
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:
                is_dir = False
            if is_dir:
                if _skip_dir(entry.name, entry.path):
                    continue
                subdirs.append((entry.path, rel))
            elif entry.name.endswith(PY_SUFFIX):
                yield rel
        stack.extend(reversed(subdirs))


def _skip_dir(name: str, abs_path: str) -> bool:
    if name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    return name in SKIP_UNLESS_PACKAGE and not (Path(abs_path) / "__init__.py").is_file()
