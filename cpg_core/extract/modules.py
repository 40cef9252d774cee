"""Dotted module names for repository paths, and relative-import resolution.

Rules (documented in docs/evidence_tables.md):
- src layout: everything under a top-level ``src/`` directory is importable from ``src`` (namespace
  packages included): ``src/ns/pkg/mod.py`` -> ``ns.pkg.mod``.
- elsewhere the import root of a file is the directory above the highest regular package
  (``__init__.py``) chain containing it: ``a/pkg/sub/mod.py`` with ``pkg/__init__.py`` and
  ``pkg/sub/__init__.py`` -> ``pkg.sub.mod`` (source root ``a``).
- a file whose folder is no regular package is in a namespace package (PEP 420) rooted at the scan
  root: ``tools/gen/make.py`` -> ``tools.gen.make``, as ``import tools.gen.make`` from the root finds
  it; only folders named like identifiers take part (``my-scripts/run.py`` -> ``run``).
- ``pkg/__init__.py`` is module ``pkg`` (``is_package``).
"""

from __future__ import annotations

from collections.abc import Iterable

SRC_DIR = "src"


def package_dirs(paths: Iterable[str]) -> frozenset[str]:
    """Directories (relative, POSIX, ``""`` for the root) that hold an ``__init__.py``."""
    out: set[str] = set()
    for p in paths:
        head, _, tail = p.rpartition("/")
        if tail == "__init__.py":
            out.add(head)
    return frozenset(out)


def module_for(path: str, packages: frozenset[str], root_name: str = "") -> tuple[str, str, bool]:
    """Return ``(module, source_root, is_package)`` for a relative POSIX ``path`` ending in ``.py``.

    ``root_name`` is the dotted package name of the scan root itself when the root is a package.
    """
    parts = path.split("/")
    stem = parts[-1][:-3] if parts[-1].endswith(".py") else parts[-1]
    dirs = parts[:-1]
    is_package = stem == "__init__"
    if dirs and dirs[0] == SRC_DIR and SRC_DIR not in packages:
        start = 1
        prefix = ""
    else:
        start = len(dirs)
        while start > 0 and "/".join(dirs[:start]) in packages:
            start -= 1
        if start == len(dirs):  # not in a regular package: a namespace package from the root
            while start > 0 and dirs[start - 1].isidentifier():
                start -= 1
        prefix = root_name if start == 0 and "" in packages and root_name else ""
    mod_parts = dirs[start:] if is_package else [*dirs[start:], stem]
    if prefix:
        mod_parts = [prefix, *mod_parts]
    if not mod_parts:  # __init__.py at a root that is not itself a named package
        mod_parts = [stem]
    return ".".join(mod_parts), "/".join(dirs[:start]), is_package


def resolve_relative(module: str, is_package: bool, level: int, name: str | None) -> str | None:
    """Absolute module for ``from <level dots><name> import ...`` inside ``module``; None if invalid."""
    if level == 0:
        return name
    package = module if is_package else module.rpartition(".")[0]
    parts = package.split(".") if package else []
    keep = len(parts) - (level - 1)
    if keep <= 0:
        return None
    base_parts = parts[:keep]
    base = ".".join(base_parts)
    return f"{base}.{name}" if name else base
