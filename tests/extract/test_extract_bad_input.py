"""Bad input never stops extraction and is never silently dropped.

Each case is a real file in a small repository next to a good module: the bad file gets its ``files``
row and one ``extract_errors`` row, the good module is fully extracted.
"""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from cpg_core.extract import extract_repo, extract_source
from cpg_core.extract.model import FileInfo
from tests.extract.helpers import assert_integrity, assert_schemas

GOOD = b'"""Good module."""\n\n\ndef ok(x):\n    return x + 1\n'


def _repo(tmp_path: Path, name: str, data: bytes) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "good.py").write_bytes(GOOD)
    (root / name).write_bytes(data)
    return root


def _only_error(tables: dict[str, pa.Table], path: str) -> dict[str, object]:
    assert_schemas(tables)
    assert_integrity(tables)
    errors = tables["extract_errors"].to_pylist()
    assert [e["path"] for e in errors] == [path]
    files = {f["path"]: f for f in tables["files"].to_pylist()}
    assert set(files) == {"good.py", path}
    assert files["good.py"]["status"] == "ok"
    assert files[path]["status"] == "failed"
    assert {d["name"] for d in tables["defs"].to_pylist()} == {"good", "ok"}
    for table in ("defs", "params", "refs", "calls", "imports", "scopes", "symbols"):
        assert path not in tables[table].column("path").to_pylist(), table
    return errors[0]


@pytest.mark.parametrize(
    ("data", "stage", "error_type", "line", "message_part"),
    [
        pytest.param(b"def f(:\n    pass\n", "parse", "SyntaxError", 1, "", id="syntax-error"),
        pytest.param(
            b"x = 1\ntype Pair = tuple[int, int]\n",
            "parse",
            "SyntaxError",
            2,
            "",
            id="newer-syntax",
        ),
        pytest.param(
            b'x = 1\ny = f"{x["a"]}"\n', "parse", "SyntaxError", 2, "", id="pep701-fstring"
        ),
        pytest.param(
            b"x = 1\ns = '\xff\xfe'\n", "decode", "UnicodeDecodeError", 2, "utf-8", id="bad-bytes"
        ),
        pytest.param(
            b"# -*- coding: no-such-codec -*-\nx = 1\n",
            "decode",
            "SyntaxError",
            1,
            "unknown encoding",
            id="bad-cookie",
        ),
        pytest.param(
            b"#!/usr/bin/env python\n# coding: latin-1\n\xef\xbb\xbf = 1\n",
            "parse",
            "SyntaxError",
            3,
            "",
            id="cookie-decodes-to-invalid",
        ),
        pytest.param(b"x = 1\ny = 2\x00\n", "decode", "NulByte", 2, "NUL", id="nul-byte"),
        pytest.param(
            b"x = " + b"(" * 250 + b"1" + b")" * 250 + b"\n",
            "parse",
            "SyntaxError",
            1,
            "too many nested parentheses",
            id="deep-parens",
        ),
        pytest.param(
            b"x = " + b"+".join([b"a"] * 100_000) + b"\n",
            "parse",
            "RecursionError",
            None,
            "recursion",
            id="recursion-error",
        ),
        pytest.param(
            b"nonlocal x\n", "symtable", "SyntaxError", 1, "nonlocal", id="symtable-error"
        ),
    ],
)
def test_bad_file_is_one_error_row(
    tmp_path: Path,
    data: bytes,
    stage: str,
    error_type: str,
    line: int | None,
    message_part: str,
) -> None:
    root = _repo(tmp_path, "bad.py", data)
    error = _only_error(extract_repo(root), "bad.py")
    assert (error["stage"], error["error_type"], error["line"]) == (stage, error_type, line)
    assert message_part in str(error["message"])


def test_file_over_size_limit(tmp_path: Path) -> None:
    root = _repo(tmp_path, "big.py", b"x = 1\n" * 1000)
    tables = extract_repo(root, max_file_bytes=1000)
    error = _only_error(tables, "big.py")
    assert (error["stage"], error["error_type"]) == ("read", "FileTooLarge")
    assert "6000 bytes" in str(error["message"])
    row = next(f for f in tables["files"].to_pylist() if f["path"] == "big.py")
    assert (row["size"], row["sha256"], row["line_count"]) == (6000, None, None)


def test_unreadable_file(tmp_path: Path) -> None:
    """A dangling symlink is listed but cannot be read."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "good.py").write_bytes(GOOD)
    (root / "gone.py").symlink_to(root / "missing-target.py")
    error = _only_error(extract_repo(root), "gone.py")
    assert (error["stage"], error["error_type"]) == ("read", "FileNotFoundError")


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files regardless of permissions")
def test_permission_denied(tmp_path: Path) -> None:  # pragma: no cover - CI runs as root here
    root = _repo(tmp_path, "secret.py", b"x = 1\n")
    (root / "secret.py").chmod(0)
    try:
        error = _only_error(extract_repo(root), "secret.py")
    finally:
        (root / "secret.py").chmod(0o644)
    assert (error["stage"], error["error_type"]) == ("read", "PermissionError")


def test_compile_only_error_keeps_evidence(tmp_path: Path) -> None:
    """Parse and symtable accept ``return`` at module level; the compiler does not."""
    root = _repo(tmp_path, "odd.py", b"def f():\n    pass\n\nreturn 1\n")
    default = extract_repo(root)
    assert default["extract_errors"].num_rows == 0
    checked = extract_repo(root, check_compile=True)
    assert_integrity(checked)
    assert checked["extract_errors"].to_pylist() == [
        {
            "path": "odd.py",
            "stage": "compile",
            "error_type": "SyntaxError",
            "message": "'return' outside function",
            "line": 4,
        }
    ]
    status = {f["path"]: f["status"] for f in checked["files"].to_pylist()}
    assert status == {"good.py": "ok", "odd.py": "compile_error"}
    assert "f" in checked["defs"].column("name").to_pylist()


def test_many_bad_files_together(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_bytes(b"")
    (root / "pkg" / "good.py").write_bytes(GOOD)
    (root / "pkg" / "a.py").write_bytes(b"def (\n")
    (root / "pkg" / "b.py").write_bytes(b"\x00")
    (root / "pkg" / "c.py").write_bytes(b"\xff\n")
    tables = extract_repo(root, workers=2, unit_bytes=1)
    assert_integrity(tables)
    errors = [(e["path"], e["stage"]) for e in tables["extract_errors"].to_pylist()]
    assert errors == [("pkg/a.py", "parse"), ("pkg/b.py", "decode"), ("pkg/c.py", "decode")]
    assert tables["files"].num_rows == 5


def test_encodings_and_newlines_keep_byte_offsets_exact() -> None:
    """BOM, latin-1 cookie and CRLF/CR newlines: spans still slice the right text."""
    info = FileInfo("m.py", "m", False, "", None)
    for data, encoding, src in [
        (b"\xef\xbb\xbfname = 1\n", "utf-8-sig", b"\xef\xbb\xbfname = 1\n"),
        (b"a = 1\r\nname = 2\rb = name\n", "utf-8", None),
        ("# coding: latin-1\nname = 'é'\n".encode("latin-1"), "iso-8859-1", None),
    ]:
        out = extract_source(info, data)
        assert out["extract_errors"] == []
        assert out["files"][0][8] == encoding
        text = src if src is not None else data.decode(encoding).encode("utf-8")
        for row in out["refs"]:
            bstart, bend = row[-2], row[-1]
            assert text[bstart:bend].decode("utf-8") == row[5]
