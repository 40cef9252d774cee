"""A copy of a tree's Python files to edit, and the edit the incremental benchmarks make.

`bench_extract_incremental` (extraction alone) and `bench_evidence_incremental` (extraction and
the evidence tables stored) edit the same file the same way, so their figures compare.
"""

from __future__ import annotations

import shutil
from pathlib import Path

EDITED = "json/encoder.py"
EDIT = "\n\ndef _bench_added(value):\n    return encode_basestring(str(value))\n"
# issue 19's edits beside `EDITED`: ten files across packages, and a widely imported module
TEN_FILES = (
    "email/utils.py",
    "http/client.py",
    "xml/dom/minidom.py",
    "asyncio/events.py",
    "logging/handlers.py",
    "unittest/case.py",
    "concurrent/futures/thread.py",
    "urllib/parse.py",
    "importlib/util.py",
    "collections/__init__.py",
)
WIDELY_IMPORTED = "os.py"

SKIP = {"site-packages", "dist-packages", "__pycache__"}


def copy_python_tree(source: Path, target: Path) -> None:
    """Copy every ``*.py`` file (and the folders holding them) below `source` into `target`."""

    def ignore(directory: str, names: list[str]) -> set[str]:
        here = Path(directory)
        return {
            n for n in names if n in SKIP or (not n.endswith(".py") and not (here / n).is_dir())
        }

    shutil.copytree(source, target, symlinks=True, ignore=ignore)


def copy_packages(source: Path, target: Path, packages: list[str]) -> None:
    """Copy the named packages of `source` (each a folder of `.py` files) into `target`: a
    slice of a tree that is quick to build but still imports across its packages."""
    target.mkdir(parents=True)
    for name in packages:
        copy_python_tree(source / name, target / name)


def edit_one_file(root: Path) -> None:
    """Append a function to `EDITED` under `root`."""
    edited = root / EDITED
    edited.write_text(edited.read_text(encoding="utf-8") + EDIT, encoding="utf-8")
