"""Floors: the least any tool doing the same job must pay, measured beside ours in the same run.

- the SQL floor: a bare sqlglot parse + qualify of every view file (what any tool that reads the
  SQL before running it pays), against the compiler (`bench_compile`) and a whole build
  (`bench_e2e_synthetic`);
- the Python floor: `ast.parse` + `symtable` of every file, bytes already in memory (what any
  symtable-aware extractor pays), against extraction (`bench_extract`, `bench_cpg_build`).
"""

from __future__ import annotations

import ast
import gc
import symtable
import warnings
from collections.abc import Sequence
from pathlib import Path

from benchmarks.harness import timed
from cpg_core.extract.model import ScanUnit


def sql_floor(root: Path, views: Sequence[str]) -> float:
    """Seconds for bare sqlglot parse + qualify of every view file read from disk, nothing else."""
    import sqlglot
    from sqlglot.optimizer.qualify import qualify
    from sqlglot.schema import MappingSchema

    from tests.synthetic_project import load_schemas  # the generator's record of the sources

    def parse_and_qualify() -> None:
        tables: dict[str, object] = dict(load_schemas(root))
        schema = MappingSchema(tables, dialect="postgres")
        for name in views:
            text = (root / "views" / f"{name}.sql").read_text(encoding="utf-8")
            parsed = sqlglot.parse_one(text, read="postgres")
            qualify(parsed, schema=schema, dialect="postgres", validate_qualify_columns=True)

    seconds, _ = timed(parse_and_qualify)
    return seconds


def read_unit(unit: ScanUnit) -> list[bytes]:
    """The bytes of a scan unit's files (unreadable ones left out)."""
    out = []
    for info in unit.files:
        try:
            out.append((Path(unit.root) / info.os_path).read_bytes())
        except OSError:
            continue
    return out


def python_floor(sources: Sequence[bytes]) -> int:
    """``ast.parse`` + ``symtable`` of each source, nothing else; returns how many failed."""
    failed = 0
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for data in sources:
                try:
                    ast.parse(data)
                    # symtable accepts bytes at run time (stubs say str); decoding would inflate the floor.
                    symtable.symtable(data, "<floor>", "exec")  # type: ignore[arg-type]
                except (SyntaxError, ValueError, RecursionError, MemoryError):
                    failed += 1
    finally:
        if was_enabled:
            gc.enable()
    return failed


def python_floor_unit(unit: ScanUnit) -> float:
    """Pool task: read a unit's files (untimed), then time the Python floor over them."""
    sources = read_unit(unit)
    seconds, _ = timed(lambda: python_floor(sources))
    return seconds
