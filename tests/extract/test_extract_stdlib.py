"""The whole installed standard library extracts; errors only where CPython itself fails."""

from __future__ import annotations

import ast
import multiprocessing
import symtable
import sysconfig
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from cpg_core.extract import extract_units, scan_repo
from tests.extract.helpers import assert_integrity, assert_schemas, compile_error

STDLIB = Path(sysconfig.get_paths()["stdlib"])


def _ident(raw: bytes) -> str:
    """Identifier as the parser sees it (NFKC-normalized, PEP 3131)."""
    return unicodedata.normalize("NFKC", raw.decode("utf-8"))


@pytest.mark.slow
def test_whole_stdlib() -> None:
    scan = scan_repo(STDLIB)
    assert scan.mode == "walk"
    assert len(scan.files) > 1000
    assert not any("site-packages" in f.path for f in scan.files)
    tables = extract_units(scan.units, workers=2)
    assert_schemas(tables)
    assert_integrity(tables)

    # errors exactly where compile() fails, and never an alignment error
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, mp_context=ctx) as pool:
        failures = dict(
            zip(
                (f.path for f in scan.files),
                pool.map(compile_error, [str(STDLIB / f.path) for f in scan.files], chunksize=32),
                strict=True,
            )
        )
    errors = tables["extract_errors"].to_pylist()
    failing = {p for p, err in failures.items() if err}
    assert {e["path"] for e in errors} <= failing
    # The only failures without an error row are compile-only ones (misplaced __future__ imports,
    # 'return' outside a function, ...): parse and symtable accept them and the default options do
    # not run the bytecode compiler (ExtractOptions.check_compile).
    for path in failing - {e["path"] for e in errors}:
        text = (STDLIB / path).read_bytes()
        ast.parse(text)
        symtable.symtable(text.decode(), path, "exec")
        with pytest.raises(SyntaxError):
            compile(ast.parse(text), path, "exec", dont_inherit=True)
    assert len(errors) == len({e["path"] for e in errors})
    assert not [e for e in errors if e["stage"] in ("walk", "align")]
    assert tables["files"].num_rows == len(scan.files)

    # byte spans slice the exact identifier of every bare-name ref and def name
    # (offsets index the file itself, or its UTF-8 re-encoding for other declared encodings)
    sources = {}
    for f in tables["files"].select(["path", "encoding", "status"]).to_pylist():
        if f["status"] != "failed":
            data = (STDLIB / f["path"]).read_bytes()
            if f["encoding"] not in ("utf-8", "utf-8-sig"):
                data = data.decode(f["encoding"]).encode("utf-8")
            sources[f["path"]] = data
    refs = tables["refs"].select(["path", "ref_kind", "name", "bstart", "bend"]).to_pylist()
    for r in refs:
        if r["ref_kind"] in ("name", "except_as", "match_capture"):
            assert _ident(sources[r["path"]][r["bstart"] : r["bend"]]) == r["name"], r
    defs = tables["defs"].select(["path", "name", "name_bstart", "name_bend"]).to_pylist()
    for d in defs:
        if d["name_bstart"] is not None:
            assert _ident(sources[d["path"]][d["name_bstart"] : d["name_bend"]]) == d["name"]
