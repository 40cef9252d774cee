"""Repository scan: which Python files exist, their module names, and scan units.

Git work trees are listed with ``git ls-files`` (tracked plus untracked-but-not-ignored), so the scan
sees what the repository sees; anything else is walked, skipping virtualenvs, caches, build output,
hidden folders and symlink loops. Output order never depends on the file system's listing order.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

from cpg_core.extract.fsread import resolves_inside
from cpg_core.extract.model import (
    DEFAULT_UNIT_BYTES,
    DEFAULT_UNIT_MAX_FILES,
    ExtractOptions,
    FileInfo,
    ScanOptions,
    ScanProblem,
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
GIT_TIMEOUT_S = 120
# git's warning for a folder it cannot list (the files in it are unknown to it)
_GIT_UNREADABLE_DIR = re.compile(rb"could not open directory '(.*)': ([^\n]*)")


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
    problems: list[ScanProblem] = []
    listed = _git_list(root_path, problems) if use_git else None
    mode = "git" if listed is not None else "walk"
    rel_paths = listed if listed is not None else list(_walk(root_path, problems))
    files = _file_infos(root_path, rel_paths)
    defaults = ExtractOptions()
    options = ExtractOptions(
        max_file_bytes=defaults.max_file_bytes if max_file_bytes is None else max_file_bytes,
        check_compile=defaults.check_compile if check_compile is None else check_compile,
    )
    units = make_units(str(root_path), files, options, unit_bytes, unit_max_files)
    ordered = {p.path: p for p in problems}  # one row per directory, in path order
    return ScanResult(
        root=str(root_path),
        mode=mode,
        files=files,
        units=units,
        problems=tuple(ordered[p] for p in sorted(ordered)),
    )


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
    """POSIX path that is valid UTF-8 (undecodable name bytes shown as backslash escapes).

    One-to-one, so two files never share a path: a name with undecodable bytes *or* a backslash
    is escaped (its backslashes as ``\\x5c``), every other name is shown as is. An escaped path
    always holds a backslash, a name shown as is never does; within escaped paths every backslash
    starts an escape. (Without the second rule ``caf\\xe9.py``, a valid name, and ``caf<0xE9>.py``
    were one path.)
    """
    posix = rel.replace(os.sep, "/") if os.sep != "/" else rel
    try:
        posix.encode("utf-8")
    except UnicodeEncodeError:
        pass
    else:
        if "\\" not in posix:
            return posix
    raw = os.fsencode(posix).replace(b"\\", b"\\x5c")
    return raw.decode("utf-8", "backslashreplace")


def _root_package_name(root: Path) -> str:
    """Dotted name of a root that is itself a package (parents with ``__init__.py`` included)."""
    parts = [root.name]
    parent = root.parent
    while parent != parent.parent and (parent / "__init__.py").is_file():
        parts.append(parent.name)
        parent = parent.parent
    return ".".join(reversed(parts))


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    """Run git in ``root`` without letting the repository's own config run programs.

    A ``.git/config`` is part of what we scan, not trusted: ``core.fsmonitor`` names a command
    that ``git ls-files`` runs (seen with git 2.39), so it is forced off; optional index writes are
    off too (the scan only reads).
    """
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0"}
    return subprocess.run(
        ["git", "-c", "core.fsmonitor=false", "-C", str(root), *args],
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
        env=env,
        timeout=GIT_TIMEOUT_S,
    )


def _git_list(root: Path, problems: list[ScanProblem]) -> list[str] | None:
    """``git ls-files`` of the work tree at ``root`` (relative paths), or None if not applicable.

    Directories git could not open are added to ``problems``.
    """
    try:
        inside = _git(root, "rev-parse", "--is-inside-work-tree", "--show-prefix")
        answer = inside.stdout.split(b"\n")
        if inside.returncode != 0 or answer[0].strip() != b"true":
            return None
        prefix = answer[1] if len(answer) > 1 else b""  # root below the top: b"sub/dir/"
        # A root inside an ignored folder of an enclosing repository lists nothing: walk it instead.
        if _git(root, "check-ignore", "-q", ".").returncode == 0:
            return None
        listed = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:  # e.g. a corrupt index: the walk still sees the files
        return None
    for match in _GIT_UNREADABLE_DIR.finditer(listed.stderr):
        raw_dir = match.group(1)  # relative to the top of the work tree
        if not raw_dir.startswith(prefix):
            continue
        where = _display_path(os.fsdecode(raw_dir[len(prefix) :])).rstrip("/")
        reason = match.group(2).decode("utf-8", "backslashreplace").strip()
        problems.append(ScanProblem(f"{where}/", _os_error_type(reason), reason))
    paths = []
    for raw in listed.stdout.split(b"\0"):
        if raw.endswith(PY_SUFFIX.encode()):
            rel = os.fsdecode(raw)
            try:
                os.lstat(root / rel)
            except FileNotFoundError:
                continue  # deleted in the work tree: the repository no longer has it
            except OSError:
                pass  # listed but not reachable (a name too long, ...): extraction reports it
            paths.append(rel)
    return paths


def _walk(root: Path, problems: list[ScanProblem]) -> Iterator[str]:
    """Relative paths of ``*.py`` files, depth first in name order.

    Directory symlinks are followed only when their target is inside ``root``, and only after
    every real directory was walked, so a link never takes the place of the directory it points
    at; a visited ``(dev, inode)`` set breaks loops. Directories that cannot be listed go to
    ``problems`` (one that vanished during the scan simply has no files).
    """
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[str, str]] = [(str(root), "")]
    linked: list[tuple[str, str]] = []  # symlinked directories, walked after all real ones
    while stack or linked:
        abs_dir, rel_dir = stack.pop() if stack else linked.pop(0)
        try:
            st = Path(abs_dir).stat()
            if (st.st_dev, st.st_ino) in seen:  # symlink loop or the same directory twice
                continue
            seen.add((st.st_dev, st.st_ino))
            with os.scandir(abs_dir) as it:
                entries = sorted(it, key=lambda e: e.name)
        except FileNotFoundError:
            continue
        except OSError as exc:
            where = _display_path(rel_dir) + "/" if rel_dir else "./"
            problems.append(ScanProblem(where, type(exc).__name__, exc.strerror or str(exc)))
            continue
        names = {e.name for e in entries}
        if rel_dir and any(m in names for m in VENV_MARKERS):
            continue
        subdirs: list[tuple[str, str]] = []
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            try:
                is_dir = entry.is_dir()
                is_link = is_dir and entry.is_symlink()
            except OSError:
                is_dir = is_link = False
            if is_dir:
                if _skip_dir(entry.name, entry.path):
                    continue
                if not is_link:
                    subdirs.append((entry.path, rel))
                elif resolves_inside(root, entry.path):
                    linked.append((entry.path, rel))
            elif entry.name.endswith(PY_SUFFIX):
                yield rel
        stack.extend(reversed(subdirs))


def _os_error_type(reason: str) -> str:
    """The `OSError` subclass Python raises for a C library error text (``Permission denied``)."""
    for code in sorted(errno.errorcode):
        if os.strerror(code) == reason:
            return type(OSError(code, reason)).__name__
    return "OSError"


def _skip_dir(name: str, abs_path: str) -> bool:
    if name.startswith(".") or name in SKIP_DIRS or name.endswith(".egg-info"):
        return True
    return name in SKIP_UNLESS_PACKAGE and not (Path(abs_path) / "__init__.py").is_file()


def scan_with(root: str | os.PathLike[str], options: ScanOptions) -> ScanResult:
    """`scan_repo` with its knobs as one `ScanOptions` value."""
    return scan_repo(
        root,
        max_file_bytes=options.max_file_bytes,
        check_compile=options.check_compile,
        unit_bytes=options.unit_bytes,
        unit_max_files=options.unit_max_files,
        use_git=options.use_git,
    )
