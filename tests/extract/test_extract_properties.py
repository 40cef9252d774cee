"""Invariants over many generated programs (Hypothesis): spans, ids, integrity, error rows."""

from __future__ import annotations

import ast
import symtable
import unicodedata
import warnings

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.extract import evidence_to_tables, extract_source
from cpg_core.extract.model import FileInfo
from cpg_core.extract.schema import EVIDENCE_SCHEMAS
from tests.extract.helpers import assert_integrity, assert_schemas

# "\uff57\uff49..." is fullwidth "width": the parser NFKC-normalizes it to "width".
NAMES = [
    "x",
    "y",
    "_a",
    "self",
    "café",
    "ñandú",
    "Ωmega",
    "\uff57\uff49\uff44\uff54\uff48",
    "data2",
]
ATTRS = ["real", "attr", "métier", "__priv"]
INFO = FileInfo("pkg/gen.py", "pkg.gen", False, "", None)
SPAN_TABLES = ("defs", "params", "refs", "calls", "imports", "scopes")

names = st.sampled_from(NAMES)
safe_text = st.text(alphabet="abc é→ñ😀", max_size=6)


def _exprs() -> st.SearchStrategy[str]:
    leaves = st.one_of(
        names,
        st.integers(0, 999).map(str),
        safe_text.map(repr),
        st.tuples(safe_text, names).map(lambda t: f"f'{t[0]}{{{t[1]}}}'"),
    )

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        params = st.lists(names, unique=True, max_size=3).map(", ".join)
        return st.one_of(
            st.tuples(inner, st.sampled_from(ATTRS)).map(lambda t: f"({t[0]}).{t[1]}"),
            st.tuples(names, st.lists(st.sampled_from(ATTRS), min_size=1, max_size=3)).map(
                lambda t: ".".join([t[0], *t[1]])
            ),
            st.tuples(inner, st.lists(inner, max_size=3)).map(
                lambda t: f"({t[0]})({', '.join(t[1])})"
            ),
            st.tuples(names, inner, names).map(lambda t: f"{t[0]}({t[1]}, key={t[2]})"),
            st.tuples(params, inner).map(lambda t: f"(lambda {t[0]}: {t[1]})"),
            st.tuples(inner, names, inner, inner).map(
                lambda t: f"[{t[0]} for {t[1]} in {t[2]} if {t[3]}]"
            ),
            st.tuples(inner, inner, names, inner).map(
                lambda t: f"{{{t[0]}: {t[1]} for {t[2]} in {t[3]}}}"
            ),
            st.tuples(inner, names, inner).map(lambda t: f"({t[0]} for {t[1]} in {t[2]})"),
            st.tuples(inner, inner).map(lambda t: f"({t[0]} + {t[1]})"),
            st.tuples(names, inner).map(lambda t: f"f'→{{{t[0]}}} {{{t[1]}!r}}'"),
        )

    return st.recursive(leaves, extend, max_leaves=8)


exprs = _exprs()


def _statements(depth: int) -> st.SearchStrategy[list[str]]:
    simple = st.one_of(
        st.tuples(names, exprs).map(lambda t: f"{t[0]} = {t[1]}"),
        st.tuples(names, exprs).map(lambda t: f"{t[0]} += {t[1]}"),
        st.tuples(names, st.sampled_from(ATTRS), exprs).map(lambda t: f"{t[0]}.{t[1]} = {t[2]}"),
        exprs,
        st.tuples(names, names).map(lambda t: f"import os.path as {t[0]}\nfrom . import {t[1]}"),
        st.tuples(exprs, names).map(
            lambda t: f"try:\n    {t[0]}\nexcept Exception as {t[1]}:\n    pass"
        ),
        st.tuples(exprs, names, names).map(
            lambda t: (
                f"match {t[0]}:\n    case [{t[1]}, *{t[2]}]:\n        pass\n    case _:\n        pass"
            )
        ),
    )
    if depth == 0:
        return st.lists(simple, min_size=1, max_size=4)
    body = _statements(depth - 1)
    params = st.lists(names, unique=True, max_size=3).map(", ".join)
    compound = st.one_of(
        st.tuples(st.lists(exprs, max_size=2), names, params, body).map(
            lambda t: "".join(f"@{d}\n" for d in t[0]) + f"def {t[1]}({t[2]}):\n" + _indent(t[3])
        ),
        st.tuples(names, st.lists(names, max_size=2), body).map(
            lambda t: f"class {t[0]}({', '.join(t[1])}):\n" + _indent(t[2])
        ),
    )
    return st.lists(
        st.one_of(simple.map(lambda s: [s]), compound.map(lambda s: [s])), min_size=1, max_size=4
    ).map(lambda groups: [s for g in groups for s in g])


def _indent(lines: list[str]) -> str:
    return "".join("    " + line + "\n" for stmt in lines for line in stmt.split("\n"))


def _program(parts: tuple[list[str], str, bool]) -> bytes:
    statements, newline, bom = parts
    lines = [line for stmt in statements for line in stmt.split("\n")]
    body = newline.join(lines).encode("utf-8") + newline.encode()
    return (b"\xef\xbb\xbf" if bom else b"") + body


programs = st.tuples(_statements(2), st.sampled_from(["\n", "\r\n"]), st.booleans()).map(_program)


def _compiles(data: bytes) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            ast.parse(data)
            symtable.symtable(data.decode("utf-8-sig"), "gen.py", "exec")
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return False
    return True


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs)
def test_generated_programs(data: bytes) -> None:
    out = extract_source(INFO, data)
    tables = evidence_to_tables(out)
    assert_schemas(tables)
    assert_integrity(tables)
    ok = _compiles(data)
    assert (tables["extract_errors"].num_rows == 0) == ok
    if not ok:
        return
    text = data.decode("utf-8-sig")
    line_texts = text.replace("\r\n", "\n").split("\n")
    for name in SPAN_TABLES:
        for row in tables[name].to_pylist():
            bstart, bend = row["bstart"], row["bend"]
            assert 0 <= bstart <= bend <= len(data), (name, row)
            data[bstart:bend].decode("utf-8")  # never splits a character
            # (line, col) is the same position as bstart
            line = line_texts[row["line"] - 1]
            prefix = "\n".join(line_texts[: row["line"] - 1])
            head = prefix + ("\n" if row["line"] > 1 else "") + line[: row["col"]]
            newline_bytes = 2 if "\r\n" in text else 1
            expected = len(head.encode("utf-8")) + (row["line"] - 1) * (newline_bytes - 1)
            if data.startswith(b"\xef\xbb\xbf"):
                expected += 3
            assert expected == bstart, (name, row)
    for row in tables["refs"].to_pylist():
        if row["ref_kind"] in ("name", "except_as", "match_capture"):
            raw = data[row["bstart"] : row["bend"]].decode("utf-8")
            assert unicodedata.normalize("NFKC", raw) == row["name"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    out = extract_source(INFO, data)
    assert len(out["files"]) == 1
    status = out["files"][0][-1]
    assert (status == "failed") == bool(out["extract_errors"])
    tables = evidence_to_tables(out)
    for name, schema in EVIDENCE_SCHEMAS.items():
        assert tables[name].schema.equals(schema)
