"""The data version of a repository: its git HEAD, or a content hash when that says too little.

Why not HEAD alone: uncommitted edits would then never make the evidence stale. A clean git
checkout is its HEAD; a dirty one (or a folder that is not a git checkout) is a hash over the
paths and bytes of its Python files, found the way extraction finds them.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from cpg_core.extract import scan_repo
from cpg_core.extract.scan import RepositoryUnavailableError, check_repository

__all__ = ["RepositoryUnavailableError", "observed_version", "repo_version"]


def git_head(root: Path) -> str | None:
    """HEAD of the checkout at `root` when it is clean (Python files), else None."""
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "*.py", "*.pyi"],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return None if dirty or not head else head


def content_version(root: Path) -> str:
    """sha256 over the relative path and bytes of every Python file extraction would read."""
    digest = hashlib.sha256()
    scan = scan_repo(root)
    for info in scan.files:
        digest.update(info.path.encode("utf-8", "surrogateescape") + b"\0")
        try:
            digest.update((root / info.os_path).read_bytes())
        except OSError as error:  # vanished or unreadable: still a deterministic version
            digest.update(f"<{type(error).__name__}>".encode())
        digest.update(b"\0")
    return "content-" + digest.hexdigest()


def repo_version(root: Path) -> str:
    """`git-<HEAD>` for a clean checkout, else `content-<sha256>`."""
    head = git_head(root)
    return f"git-{head}" if head else content_version(root)


def observed_version(root: Path) -> str:
    """`repo_version(root)` of a repository that is there; `RepositoryUnavailableError` (with
    what is wrong) when it is missing, not a folder or cannot be listed — a vanished repository
    must not look like an empty one."""
    return repo_version(check_repository(root))
