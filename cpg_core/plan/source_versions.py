"""The data version of an external source, from what its format records.

Why: a view's cache key (builds) and a data test's cached result (`cpg test`, a build's tests)
need their inputs' data versions, and hashing a source's rows means reading all of it every
time — for TPC-H at scale factor 1, half the time of a build that changes nothing. One
definition serves both:

- Delta: the table's id and version;
- Parquet: per file, its size, modification time and footer (the file's metadata: schema, row
  groups, statistics), read from the end of the file;
- CSV: a sha256 of the file, computed only when its size or modification time changed since the
  store last saw it (`<store>/_cpg/source_versions.msgpack`), so a touched but unchanged file
  is not a change.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import msgspec
import pyarrow.dataset as pads

from cpg_core.plan.hashing import hash_value
from cpg_core.project import SourceSpec
from cpg_core.store.runs import atomic_write

VERSION_FORMAT = "cpg-source/1"
_FOOTER_TAIL = 8  # a Parquet file ends with the footer's length (4 bytes) and b"PAR1"
_CHUNK = 1 << 20


def source_version(spec: SourceSpec, store: Path) -> str:
    """The data version of source `spec` for a store at `store` (see the module docstring);
    raises OSError, ValueError or an Arrow error when the source cannot be read."""
    if spec.format == "delta":
        facts: Any = _delta_facts(spec.path)
    elif spec.format == "csv":
        facts = _csv_hash(spec.path, store / "_cpg" / "source_versions.msgpack")
    else:
        facts = [_parquet_facts(spec.path, file) for file in _parquet_files(spec.path)]
    return hash_value([VERSION_FORMAT, spec.format, facts])


def _delta_facts(path: Path) -> list[Any]:
    """The table's id and version; deltalake's own errors (a missing table) as ValueError."""
    from deltalake import DeltaTable
    from deltalake.exceptions import DeltaError

    try:
        table = DeltaTable(str(path))
        return [table.metadata().id, table.version()]
    except DeltaError as error:
        raise ValueError(str(error)) from error


def _parquet_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(Path(f) for f in pads.dataset(path, format="parquet").files)


def _parquet_facts(root: Path, file: Path) -> list[Any]:
    stat = file.stat()
    with file.open("rb") as handle:
        handle.seek(max(0, stat.st_size - _FOOTER_TAIL))
        tail = handle.read(_FOOTER_TAIL)
        length = int.from_bytes(tail[:4], "little") if len(tail) == _FOOTER_TAIL else 0
        handle.seek(max(0, stat.st_size - _FOOTER_TAIL - length))
        footer = handle.read(length)
    name = file.name if root == file else file.relative_to(root).as_posix()
    return [name, stat.st_size, stat.st_mtime_ns, hashlib.sha256(footer).hexdigest()]


class _Seen(msgspec.Struct, array_like=True):
    size: int
    mtime_ns: int
    sha256: str


def _csv_hash(path: Path, memo: Path) -> str:
    """sha256 of a CSV file, re-hashed only when its size or modification time changed."""
    stat = path.stat()
    key = os.fspath(path.resolve())
    try:
        seen = msgspec.msgpack.decode(memo.read_bytes(), type=dict[str, _Seen])
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        seen = {}
    known = seen.get(key)
    if known is not None and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
        return known.sha256
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    seen[key] = _Seen(stat.st_size, stat.st_mtime_ns, digest.hexdigest())
    atomic_write(memo, msgspec.msgpack.encode(seen))
    return seen[key].sha256
