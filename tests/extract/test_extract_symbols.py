"""Symbol flags read from raw symtable bits agree with ``symtable.Symbol``'s public methods."""

from __future__ import annotations

import symtable
import sysconfig
from pathlib import Path

import pytest

from cpg_core.extract import extract_repo
from tests.paths import FIXTURE_REPO

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FLAGS = (
    "is_local",
    "is_global",
    "is_declared_global",
    "is_nonlocal",
    "is_free",
    "is_parameter",
    "is_imported",
    "is_assigned",
    "is_referenced",
    "is_annotated",
    "is_namespace",
)


def _public(root: Path, path: str) -> dict[tuple[str, int, str], dict[str, bool]]:
    """(table name, line, symbol) -> flags, from the public symtable API."""
    top = symtable.symtable((root / path).read_text(encoding="utf-8"), path, "exec")
    out: dict[tuple[str, int, str], dict[str, bool]] = {}
    stack = [top]
    while stack:
        table = stack.pop()
        for sym in table.get_symbols():
            key = (table.get_name(), table.get_lineno(), sym.get_name())
            out.setdefault(key, {f: bool(getattr(sym, f)()) for f in FLAGS})
        stack.extend(table.get_children())
    return out


@pytest.mark.parametrize(
    "root", [FIXTURE_REPO, STDLIB / "json", STDLIB / "asyncio"], ids=lambda p: p.name
)
def test_flags_match_public_api(root: Path) -> None:
    tables = extract_repo(root)
    scopes = {s["scope_id"]: s for s in tables["scopes"].to_pylist()}
    by_path: dict[str, dict[tuple[str, int, str], dict[str, bool]]] = {}
    checked = 0
    for row in tables["symbols"].to_pylist():
        path = row["path"]
        if path not in by_path:
            by_path[path] = _public(root, path)
        scope = scopes[row["scope_id"]]
        line = 0 if scope["scope_kind"] == "module" else scope["line"]
        expected = by_path[path][(scope["table_name"], line, row["mangled_name"])]
        assert {f: row[f] for f in FLAGS} == expected, row
        checked += 1
    assert checked == tables["symbols"].num_rows > 0


def test_private_names_are_demangled(fixture_tables: dict) -> None:
    rows = [
        (r["name"], r["mangled_name"])
        for r in fixture_tables["symbols"].to_pylist()
        if r["mangled_name"] != r["name"]
    ]
    assert rows == [("__secret", "_Vault__secret")]
