"""Hostile repositories: whatever a repository holds, the build completes and accounts for it.

Each test makes a real repository on disk -- absurd nesting, huge lines, odd encodings, random
bytes under random names, FIFOs, sockets, devices, symlink loops, files that vanish or change
while extraction runs, unreadable files and folders, thousands of tiny files -- next to good
modules, and runs the real extraction: `extract_repo` and the incremental path
`extract_incremental` (and once `cpg build` plus `build_project` into a real Delta store). Each
must finish within a deadline (a hang fails the test instead of stalling CI), account for every
problem as one `extract_errors` row (path, stage, error type, message), extract every good file
completely, and give incremental tables equal to a cold extraction's. The single-file bad-input
cases are in tests/extract/test_extract_bad_input.py and not repeated here.

Examples per generated property: `CPG_HYPOTHESIS_EXAMPLES` (default: a CI-sized count).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpg_core.checks.dangling import dangling_edges
from cpg_core.extract import (
    EVIDENCE_SCHEMAS,
    TABLE_NAMES,
    evidence_to_tables,
    extract_repo,
    extract_source,
    extract_units,
    scan_repo,
)
from cpg_core.extract import incremental as incremental_module
from cpg_core.extract.incremental import IncrementalExtract, extract_incremental
from cpg_core.extract.model import FileInfo
from cpg_core.extract.progress import ExtractProgress
from cpg_core.extract.schema import PARTITION_COLUMN
from cpg_core.extract.source import LineIndex
from cpg_core.pipeline import build_project
from cpg_core.project import Project
from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.partitions import partition
from tests.extract.helpers import assert_integrity, assert_schemas
from tests.paths import REPO_ROOT

EXAMPLES = int(os.environ.get("CPG_HYPOTHESIS_EXAMPLES", "0")) or None
DEADLINE_S = 120.0  # far above any real run here: it only turns a hang into a failure
GOOD = b'"""A good module."""\n\n\ndef ok(x):\n    return x + 1\n'
# Stages whose row means "this file has no evidence" (one per file); `scan` rows name folders.
FILE_STAGES = frozenset({"read", "decode", "parse", "symtable", "walk"})
# What CPython raises on absurd nesting depends on the construct (and the Python version).
DEEP = frozenset({"SyntaxError", "IndentationError", "RecursionError", "MemoryError"})


def _examples(default: int) -> int:
    return EXAMPLES or default


class Hang(Exception):
    """The code under test did not return within its deadline."""


@contextmanager
def deadline(seconds: float = DEADLINE_S) -> Iterator[None]:
    """Raise `Hang` in this (main) thread after `seconds`, interrupting blocking system calls."""

    def on_alarm(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no result after {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Expect:
    """The one `extract_errors` row a path must have: its stage and the allowed error types."""

    stage: str | frozenset[str]
    types: frozenset[str]

    def matches(self, row: Mapping[str, Any]) -> bool:
        stages = {self.stage} if isinstance(self.stage, str) else self.stage
        return row["stage"] in stages and row["error_type"] in self.types


def expect(stage: str | frozenset[str], *types: str) -> Expect:
    return Expect(stage, frozenset(types))


def write(root: Path, rel: str, data: bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def extract_both(
    root: Path, state: Path, **options: Any
) -> tuple[dict[str, pa.Table], IncrementalExtract]:
    """A cold `extract_repo` and an `extract_incremental` run, each under the deadline."""
    with deadline():
        cold = extract_repo(root, **options)
    with deadline():
        result = extract_incremental(root, state_dir=state, **options)
    return cold, result


def assert_same(cold: Mapping[str, pa.Table], result: IncrementalExtract) -> None:
    """The incremental tables hold the cold tables' rows, with the same versions."""
    assert list(result.tables) == list(TABLE_NAMES)
    for name in TABLE_NAMES:
        ordered, pmap = partition(cold[name], PARTITION_COLUMN)
        assert partition(result.tables[name], PARTITION_COLUMN)[0].equals(ordered), name
        assert result.data_versions[name] == pmap.version, name


def assert_accounted(
    tables: Mapping[str, pa.Table],
    errors: Mapping[str, Expect],
    good: Iterable[str] = (),
    *,
    exact: bool = True,
) -> dict[str, dict[str, Any]]:
    """Every problem is exactly one row and every row is a problem; good files are complete.

    `errors` maps a path (a folder's ends in ``/``) to its expected row; with `exact` no other
    path may have one. Returns the problem rows by path.
    """
    assert_schemas(dict(tables))
    rows = tables["extract_errors"].to_pylist()
    file_rows = [r for r in rows if r["stage"] != "scan"]
    errors_of_files = pa.Table.from_pylist(file_rows, schema=EVIDENCE_SCHEMAS["extract_errors"])
    assert_integrity({**tables, "extract_errors": errors_of_files})
    status = {f["path"]: f["status"] for f in tables["files"].to_pylist()}
    problems: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["stage"] in FILE_STAGES | {"scan"}, row
        assert row["error_type"] and row["message"], row
        assert row["path"] not in problems, f"two rows for {row['path']}"
        problems[row["path"]] = row
        if row["stage"] == "scan":
            assert row["path"].endswith("/") and row["path"] not in status, row
    failed = {p for p, s in status.items() if s == "failed"}
    assert failed == {p for p in problems if not p.endswith("/")}
    assert set(status.values()) <= {"ok", "failed"}
    for path, want in errors.items():
        assert path in problems, f"no extract_errors row for {path}"
        assert want.matches(problems[path]), (path, problems[path])
    if exact:
        assert set(problems) == set(errors), set(problems) ^ set(errors)
    ok_defs = {(d["path"], d["name"]) for d in tables["defs"].to_pylist()}
    for path in good:
        assert status.get(path) == "ok", (path, status.get(path))
        assert (path, "ok") in ok_defs, path
    return problems


# -- contents: nesting, huge lines, encodings ------------------------------------------------


def _nested_defs(depth: int) -> bytes:
    return b"".join(b" " * i + b"def f():\n" for i in range(depth)) + b" " * depth + b"pass\n"


CONTENTS: dict[str, tuple[bytes, Expect | None]] = {
    "deep/parens.py": (
        b"x = " + b"(" * 10_000 + b"1" + b")" * 10_000 + b"\n",
        expect("parse", "SyntaxError"),
    ),
    "deep/defs.py": (_nested_defs(1_000), expect("parse", "IndentationError")),
    "deep/attributes.py": (b"x = a" + b".b" * 10_000 + b"\n", Expect("parse", DEEP)),
    "deep/calls.py": (b"x = f" + b"()" * 10_000 + b"\n", Expect("parse", DEEP)),
    "deep/subscripts.py": (b"x = a" + b"[0]" * 10_000 + b"\n", Expect("parse", DEEP)),
    "deep/unary.py": (b"x = " + b"-" * 100_000 + b"1\n", Expect("parse", DEEP)),
    "deep/lambdas.py": (b"f = " + b"lambda: " * 10_000 + b"1\n", Expect("parse", DEEP)),
    "deep/elifs.py": (
        b"if a:\n    pass\n" + b"elif a:\n    pass\n" * 10_000,
        Expect("parse", DEEP),
    ),
    # As deep as the parser goes (~3,000 on 3.11): the symbol table gives up, not our walkers.
    "deep/conditional.py": (
        b"x = " + b"a if b else " * 2_900 + b"1\n",
        Expect(frozenset({"parse", "symtable"}), DEEP),
    ),
    # Deep but accepted: 1,500 nested lambda scopes (over the default recursion limit) are walked and aligned completely.
    "deep/valid_lambdas.py": (b"f = " + b"lambda: " * 1_500 + b"1\n" + GOOD, None),
    "huge/ten_mb_line.py": (b"x = [" + b"1," * (5 * 1024 * 1024) + b"]\n", None),
    "enc/latin1_cookie.py": (
        "# -*- coding: latin-1 -*-\nname = 'café'\n".encode("latin-1") + GOOD,
        None,
    ),
    "enc/latin1_no_cookie.py": (
        "name = 'café'\n".encode("latin-1"),
        expect("decode", "UnicodeDecodeError"),
    ),
    "enc/utf16_bom.py": ("x = 'é'\n".encode("utf-16"), expect("decode", "NulByte")),
    "enc/bom_and_latin1_cookie.py": (
        b"\xef\xbb\xbf# coding: latin-1\nx = 1\n",
        expect("decode", "SyntaxError"),
    ),
    "enc/cr_only_cookie.py": (
        "#!/usr/bin/env python\r# coding: latin-1\rname = 'é'\r".encode("latin-1") + GOOD,
        None,
    ),
    "enc/utf16_cookie.py": (b"# coding: utf-16\nx = 1\n", expect("decode", "UnicodeDecodeError")),
    "enc/rot13_cookie.py": (b"# coding: rot13\nx = 1\n", expect("decode", "LookupError")),
    "enc/punycode_cookie.py": (
        b"# coding: punycode\ndef f(a):\n    return a\n",
        expect("decode", "UnicodeError"),
    ),
    "enc/surrogate_from_codec.py": (
        b"# coding: unicode_escape\nx = '\\ud800'\n",
        expect("parse", "UnicodeEncodeError"),
    ),
    "enc/invalid_utf8.py": (b"x = '\x80\xff'\n", expect("decode", "UnicodeDecodeError")),
    "enc/double_bom.py": (b"\xef\xbb\xbf\xef\xbb\xbfx = 1\n", expect("parse", "SyntaxError")),
    "nul/middle.py": (b"x = 1\n\x00\ny = 2\n", expect("decode", "NulByte")),
    "empty.py": (b"", None),
    "only_bom.py": (b"\xef\xbb\xbf", None),
}
TOO_LARGE = "huge/ten_mb_line.py"


def test_hostile_contents_next_to_good_files(tmp_path: Path) -> None:
    root, state = tmp_path / "repo", tmp_path / "state"
    write(root, "good.py", GOOD)
    for rel, (data, _) in CONTENTS.items():
        write(root, rel, data)
    errors = {rel: want for rel, (_, want) in CONTENTS.items() if want is not None}
    errors[TOO_LARGE] = expect("read", "FileTooLarge")
    good = ["good.py", *(r for r, (d, w) in CONTENTS.items() if w is None and GOOD in d)]
    cold, result = extract_both(root, state)
    assert_accounted(cold, errors, good)
    assert_same(cold, result)
    too_large = {f["path"]: f for f in cold["files"].to_pylist()}[TOO_LARGE]
    assert (too_large["size"], too_large["sha256"]) == (len(CONTENTS[TOO_LARGE][0]), None)
    lambdas = [s for s in cold["scopes"].to_pylist() if s["path"] == "deep/valid_lambdas.py"]
    assert sum(s["scope_kind"] == "lambda" for s in lambdas) == 1_500

    # Fix one file, break a good one, delete one, add one: the next run re-extracts exactly
    # those (and the file it cannot read: its bytes are unknown, so its rows are never reused).
    write(root, "enc/latin1_no_cookie.py", b"# coding: latin-1\n" + b"name = 'caf\xe9'\n")
    write(root, "good.py", GOOD + b"def broken(:\n")
    (root / "deep/parens.py").unlink()
    write(root, "nul/new.py", b"\x00")
    del errors["enc/latin1_no_cookie.py"], errors["deep/parens.py"]
    errors["good.py"] = expect("parse", "SyntaxError")
    errors["nul/new.py"] = expect("decode", "NulByte")
    good.remove("good.py")
    cold, result = extract_both(root, state)
    assert_accounted(cold, errors, good)
    assert_same(cold, result)
    changed = {"enc/latin1_no_cookie.py", "good.py", "nul/new.py", TOO_LARGE}
    assert set(result.extracted) == changed
    assert result.removed == ("deep/parens.py",)


def test_code_point_columns_on_a_huge_non_ascii_line() -> None:
    """Columns of a 4 MB one-liner: linear work (decoding each prefix again was quadratic)."""
    size = 4 * 1024 * 1024
    src = "é = 1;".encode() + b"x" * size + "ñ".encode() + b"\n"
    index = LineIndex.build(src)
    with deadline(30):
        columns = [index.char_col(1, col) for col in range(0, size, 64)]
    assert columns[:3] == [0, 63, 127]  # byte 64 is code point 63: "é" is two bytes
    assert columns[-1] == (size - 64) - 1
    assert index.char_col(1, len(src) - 1) == len(src.decode()) - 1


CODECS = [
    "utf-8",
    "utf-8-sig",
    "latin-1",
    "cp1252",
    "koi8-r",
    "shift_jis",
    "gbk",
    "utf-16",
    "utf-16-le",
    "utf-32",
    "utf-7",
    "cp037",
    "idna",
    "punycode",
    "unicode_escape",
    "raw_unicode_escape",
    "rot13",
    "hex",
    "zlib",
    "no-such-codec",
]
SNIPPETS = [
    "x = 'é'",
    "def f(a):\n    return a",
    "café = 1",
    "s = '\\u00e9'",
    "π = 3.14",
    "# ñ",
    "class C: pass",
    "y = '日本'",
    "z = b'\\xff'",
]


@st.composite
def sources(draw: st.DrawFn) -> bytes:
    """Python-ish text in some encoding, a cookie naming some codec (maybe another one) on line
    1, 2 or 3, LF/CRLF/CR line ends, maybe a BOM, maybe a few random bytes spliced in."""
    if draw(st.integers(0, 4)) == 0:
        return draw(st.binary(max_size=120))
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    declared, used = draw(st.sampled_from(CODECS)), draw(st.sampled_from(CODECS))
    body = newline.join(draw(st.lists(st.sampled_from(SNIPPETS), min_size=1, max_size=4)))
    body = body.replace("\n", newline)
    cookie = f"# -*- coding: {declared} -*-{newline}"
    head = draw(
        st.sampled_from(
            ["", cookie, f"#!/usr/bin/python{newline}{cookie}", f"x = 1{newline}{cookie}"]
        )
    )
    try:
        data = head.encode("ascii") + body.encode(used)
    except (UnicodeError, LookupError, TypeError):
        data = head.encode("ascii") + body.encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 3)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=3)) + data[at:]
    return data


@settings(max_examples=_examples(150), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=sources())
def test_generated_sources_in_any_encoding(data: bytes) -> None:
    """No codec, cookie, BOM or newline convention stops extraction (`# coding: punycode` did)."""
    with deadline(60):
        out = extract_source(FileInfo("gen.py", "gen", False, "", None), data)
    tables = evidence_to_tables(out)
    assert_schemas(tables)
    assert_integrity(tables)
    [row] = out["files"]
    errors = [e for e in out["extract_errors"] if e[1] in FILE_STAGES]
    assert (row[-1] == "failed") == bool(errors) and len(errors) <= 1
    for error in errors:  # a row's line is a line of the file
        line, line_count = error[4], row[7]
        assert line is None or 1 <= line <= max(line_count or 0, 1), (error, line_count)


# -- the file system: FIFOs, devices, sockets, symlinks, folders named .py -------------------


@dataclass(frozen=True)
class OddRepo:
    root: Path
    errors: dict[str, Expect]
    good: list[str]
    absent: list[str]  # paths that must not be listed (outside the root, loops)


def _odd_repo(tmp_path: Path, git: bool) -> OddRepo:
    """One of everything a work tree can hold under a ``.py`` name, next to good modules."""
    outside = tmp_path / "outside"
    write(outside, "secret.py", b"PASSWORD = 'hunter2'\n")
    write(outside, "lost/stray.py", GOOD)
    root = tmp_path / "repo"
    for rel in ("good.py", "pkg/__init__.py", "pkg/mod.py", "d.py/inner.py"):
        write(root, rel, GOOD)
    os.mkfifo(root / "pipe.py")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "sock.py"))
    sock.close()  # the socket file stays
    (root / "zero.py").symlink_to("/dev/zero")
    (root / "null.py").symlink_to("/dev/null")
    (root / "self.py").symlink_to("self.py")
    (root / "ring_a.py").symlink_to("ring_b.py")
    (root / "ring_b.py").symlink_to("ring_a.py")
    (root / "gone.py").symlink_to("missing.py")
    (root / "leak.py").symlink_to(outside / "secret.py")
    (root / "alias.py").symlink_to("good.py")
    (root / "link.py").symlink_to("pkg")  # a folder symlink named like a module
    (root / "pkg" / "up").symlink_to("..")  # a loop back to the root
    (root / "out").symlink_to(outside)  # a folder outside the repository
    device = False
    with suppress(OSError):  # needs CAP_MKNOD (root in CI)
        os.mknod(root / "device.py", 0o600 | stat.S_IFCHR, os.makedev(1, 5))
        device = True
    not_regular = expect("read", "NotRegularFile")
    errors = {
        "zero.py": not_regular,
        "null.py": not_regular,
        "self.py": expect("read", "OSError"),
        "ring_a.py": expect("read", "OSError"),
        "ring_b.py": expect("read", "OSError"),
        "gone.py": expect("read", "FileNotFoundError"),
        "leak.py": expect("read", "OutsideRepository"),
    }
    if git:
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        errors["link.py"] = not_regular  # git lists a symlink as a file, whatever it points at
    else:  # git lists neither FIFOs nor sockets nor devices
        errors.update({"pipe.py": not_regular, "sock.py": not_regular})
        if device:
            errors["device.py"] = not_regular
    good = ["good.py", "alias.py", "pkg/mod.py", "d.py/inner.py"]
    absent = ["out/secret.py", "out/lost/stray.py", "pkg/up/good.py", "link.py/mod.py"]
    return OddRepo(root, errors, good, absent)


@pytest.mark.parametrize("git", [False, True], ids=["walk", "git"])
def test_file_system_oddities(tmp_path: Path, git: bool) -> None:
    repo = _odd_repo(tmp_path, git)
    cold, result = extract_both(repo.root, tmp_path / "state")
    assert scan_repo(repo.root).mode == ("git" if git else "walk")
    assert_accounted(cold, repo.errors, repo.good)
    assert_same(cold, result)
    paths = set(cold["files"].column("path").to_pylist())
    assert not paths & set(repo.absent)
    assert paths == set(repo.errors) | set(repo.good) | {"pkg/__init__.py"}
    # The secret behind the symlink never reached a table.
    for table in cold.values():
        assert "hunter2" not in str(table.to_pylist())
    # A second run re-reads only what it could not read; the rest is reused.
    with deadline():
        again = extract_incremental(repo.root, state_dir=tmp_path / "state")
    assert set(again.extracted) == set(repo.errors)  # every problem here is a read error
    assert_same(cold, again)


# -- permission denied -------------------------------------------------------------------------

_CHILD = """
import json, sys
from cpg_core.extract import extract_repo
from cpg_core.extract.incremental import extract_incremental
root, state = sys.argv[1], sys.argv[2]
def rows(tables):
    return {
        "errors": [[r["path"], r["stage"], r["error_type"]] for r in
                   tables["extract_errors"].to_pylist()],
        "status": {r["path"]: r["status"] for r in tables["files"].to_pylist()},
    }
print(json.dumps({
    "walk": rows(extract_repo(root, use_git=False)),
    "git": rows(extract_repo(root)),
    "incremental": rows(extract_incremental(root, state_dir=state).tables),
}))
"""


def _unprivileged_prefix(probe: Path) -> list[str]:
    """How to run a child for which file permissions hold, or skip.

    Root ignores permissions (CAP_DAC_OVERRIDE), and CI runs tests as root: there the child
    runs through ``setpriv`` without the two capabilities that bypass them, so it stays root
    (and can read the virtualenv and pytest's 0700 folders) while mode bits apply to it.
    """
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv is missing: permissions cannot be denied")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    check = subprocess.run(
        [*prefix, sys.executable, "-c", f"open({str(probe)!r}).read()"],
        capture_output=True,
        text=True,
        check=False,
    )
    if "PermissionError" not in check.stderr:
        pytest.skip(f"could not get a process that file permissions apply to: {check.stderr}")
    return prefix


def test_permission_denied_files_and_folders(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    write(root, "good.py", GOOD)
    write(root, "pkg/__init__.py", b"")
    write(root, "pkg/mod.py", GOOD)
    write(root, "secret.py", GOOD)
    write(root, "locked/tracked.py", GOOD)
    write(root, "locked/untracked.py", GOOD)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "add", "locked/tracked.py"], check=True)
    (root / "secret.py").chmod(0)
    (root / "locked").chmod(0)
    try:
        prefix = _unprivileged_prefix(root / "secret.py")
        with deadline():
            child = subprocess.run(
                [*prefix, sys.executable, "-c", _CHILD, str(root), str(tmp_path / "state")],
                capture_output=True,
                text=True,
                check=False,
                cwd=REPO_ROOT,
                timeout=DEADLINE_S,
            )
    finally:
        (root / "secret.py").chmod(0o644)
        (root / "locked").chmod(0o755)
    assert child.returncode == 0, child.stderr
    found = json.loads(child.stdout)
    secret = ["secret.py", "read", "PermissionError"]
    folder = ["locked/", "scan", "PermissionError"]
    assert found["walk"]["errors"] == [folder, secret]
    # git still knows the tracked file (and cannot read it) but not the untracked one.
    tracked = ["locked/tracked.py", "read", "PermissionError"]
    assert found["git"]["errors"] == [folder, tracked, secret]
    assert sorted(found["incremental"]["errors"]) == sorted(found["git"]["errors"])
    for run in found.values():
        assert run["status"]["good.py"] == run["status"]["pkg/mod.py"] == "ok"
        assert run["status"]["secret.py"] == "failed"


# -- files that vanish or change while extraction runs ----------------------------------------


def _doomed_repo(root: Path) -> None:
    write(root, "good.py", GOOD)
    for name in ("a", "b", "c", "d", "e"):
        write(root, f"{name}.py", GOOD)
    write(root, "sub/x.py", GOOD)
    write(root, "sub/y.py", GOOD)


def _pull_the_rug(root: Path) -> dict[str, Expect]:
    """Delete, replace and grow files; the row each change must give."""
    (root / "a.py").unlink()
    (root / "b.py").unlink()
    os.mkfifo(root / "b.py")
    (root / "c.py").unlink()
    (root / "c.py").mkdir()
    (root / "d.py").unlink()
    (root / "d.py").symlink_to("nowhere.py")
    write(root, "e.py", GOOD * 200)  # over the 4 KiB limit the tests scan with
    shutil.rmtree(root / "sub")
    gone = expect("read", "FileNotFoundError")
    return {
        "a.py": gone,
        "b.py": expect("read", "NotRegularFile"),
        "c.py": expect("read", "NotRegularFile"),
        "d.py": gone,
        "e.py": expect("read", "FileTooLarge"),
        "sub/x.py": gone,
        "sub/y.py": gone,
    }


LIMIT = 4096


def test_files_vanish_between_scan_and_extraction(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _doomed_repo(root)
    scan = scan_repo(root, max_file_bytes=LIMIT)
    errors = _pull_the_rug(root)
    with deadline():
        tables = extract_units(scan.units)
    assert_accounted(tables, errors, ["good.py"])


def test_files_vanish_during_incremental_extraction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The progress callback runs after the scan and hashing, before any unit: the real gap."""
    root, state = tmp_path / "repo", tmp_path / "state"
    _doomed_repo(root)
    errors: dict[str, Expect] = {}

    def on_progress(update: ExtractProgress) -> None:
        if update.done == 0 and not errors:
            errors.update(_pull_the_rug(root))

    with deadline():
        result = extract_incremental(
            root, state_dir=state, max_file_bytes=LIMIT, progress=on_progress
        )
    assert errors, "the progress callback never ran"
    assert_accounted(result.tables, errors, ["good.py"])

    # The next run: vanished files are removed, the others are still (re-read) errors.
    cold, again = extract_both(root, state, max_file_bytes=LIMIT)
    # c.py is a folder now (an empty one: no files)
    assert set(again.removed) == {"a.py", "c.py", "sub/x.py", "sub/y.py"}
    for path in again.removed:
        del errors[path]
    assert_accounted(cold, errors, ["good.py"])
    assert_same(cold, again)

    # A file deleted between the scan and the hashing (wrapping only our scan's result).
    real_scan = incremental_module.scan_with

    def scan_then_delete(*args: Any, **kwargs: Any) -> Any:
        scanned = real_scan(*args, **kwargs)
        (root / "good.py").unlink()
        return scanned

    monkeypatch.setattr(incremental_module, "scan_with", scan_then_delete)
    with deadline():
        result = extract_incremental(root, state_dir=state, max_file_bytes=LIMIT)
    assert "good.py" in result.extracted
    errors["good.py"] = expect("read", "FileNotFoundError")
    assert_accounted(result.tables, errors)


def _churn(root: Path, stop: threading.Event, seed: int) -> None:
    """Create, rewrite, replace and delete files and folders until `stop` is set."""
    rng = random.Random(seed)
    churn = root / "churn"
    while not stop.is_set():
        path = churn / f"d{rng.randrange(4)}" / f"m{rng.randrange(40)}.py"
        action = rng.randrange(6)
        with suppress(OSError):
            if action == 0:
                shutil.rmtree(path.parent)
            elif action == 1 and path.is_file():
                path.unlink()
                path.mkdir()
            elif action == 2 and path.is_dir():
                path.rmdir()
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(GOOD * rng.randrange(1, 4))


def test_files_churning_while_extracting(tmp_path: Path) -> None:
    root, state = tmp_path / "repo", tmp_path / "state"
    stable = [f"stable/s{i}.py" for i in range(20)]
    for rel in stable:
        write(root, rel, GOOD)
    stop = threading.Event()
    churner = threading.Thread(target=_churn, args=(root, stop, 7), daemon=True)
    churner.start()
    try:
        for _ in range(3):
            cold, result = extract_both(root, state, use_git=False)
            for tables in (cold, result.tables):
                problems = assert_accounted(tables, {}, stable, exact=False)
                assert all(p.startswith("churn/") for p in problems), problems
    finally:
        stop.set()
        churner.join()
    # Once the tree is still, the state left by the racing runs gives the cold result.
    cold, result = extract_both(root, state, use_git=False)
    assert_same(cold, result)


# -- many tiny files --------------------------------------------------------------------------

TINY_FILES = int(os.environ.get("CPG_HOSTILE_TINY_FILES", "1200"))


def test_very_many_tiny_files(tmp_path: Path) -> None:
    root, state = tmp_path / "repo", tmp_path / "state"
    for i in range(TINY_FILES):
        package = root / f"p{i // 100:02d}"
        if i % 100 == 0:
            write(package, "__init__.py", b"")
        write(package, f"m{i:04d}.py", f"X{i} = {i}\n".encode())
    cold, result = extract_both(root, state)
    assert cold["files"].num_rows == TINY_FILES + TINY_FILES // 100
    assert cold["extract_errors"].num_rows == 0
    assert len(scan_repo(root).units) >= TINY_FILES // 400
    assert_same(cold, result)
    with deadline():
        again = extract_incremental(root, state_dir=state)
    assert (again.extracted, again.reused) == ((), cold["files"].num_rows)


# -- generated repositories -------------------------------------------------------------------

NAME_PARTS = [
    "pkg",
    "src",
    "d.py",
    "x y",
    "é",
    "a:b",
    "#",
    "-",
    "caf\\xe9",  # a real backslash: must never share a path with the undecodable name below
    os.fsdecode(b"caf\xe9"),
    os.fsdecode(b"\xff\xfe"),
    "__init__",
    ".hidden",
]
TEMPLATES = [
    GOOD,
    b"",
    b"def (\n",
    b"\x00",
    b"\xef\xbb\xbf" + GOOD,
    b"# coding: latin-1\nx = '\xe9'\n",
    b"# coding: punycode\nx = 1\n",
    b"x = " + b"(" * 300 + b")" * 300 + b"\n",
    b"f = " + b"lambda: " * 500 + b"1\n",
    b"nonlocal x\n",
    b"class C:\n    def m(self):\n        return [y for y in self]\n",
]


@dataclass(frozen=True)
class Entry:
    parts: tuple[str, ...]
    kind: str  # "file", "fifo", "symlink", "dir"
    data: bytes = b""
    target: str = ""


def _file_name(part: str) -> str:
    return part if part.endswith(".py") else part + ".py"


entries = st.builds(
    Entry,
    parts=st.lists(st.sampled_from(NAME_PARTS), min_size=1, max_size=3).map(tuple),
    kind=st.sampled_from(["file", "file", "file", "fifo", "symlink", "dir"]),
    data=st.one_of(st.sampled_from(TEMPLATES), st.binary(max_size=200)),
    target=st.sampled_from(["..", ".", "/dev/zero", "missing.py", "SELF", "FIRST", "/"]),
)


def _materialize(root: Path, items: list[Entry]) -> tuple[list[str], list[str]]:
    """Create the entries, skipping any that collide or would land behind a symlink.

    Returns the good files and every path the scan must list (not a folder, not under a hidden
    folder), both as relative OS paths.
    """
    made: list[str] = []
    good: list[str] = []
    first: Path | None = None
    real_root = root.resolve()
    for item in items:
        path = root.joinpath(*item.parts[:-1], _file_name(item.parts[-1]))
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.parent.resolve() != real_root.joinpath(*item.parts[:-1]):
                continue  # a parent is a symlink: the file would live somewhere else
            if path.exists() or path.is_symlink():
                continue
            if item.kind == "file":
                path.write_bytes(item.data)
                first = first or path
            elif item.kind == "fifo":
                os.mkfifo(path)
            elif item.kind == "dir":
                path.mkdir()
            else:
                target = {"SELF": path.name, "FIRST": str(first or "missing.py")}
                path.symlink_to(target.get(item.target, item.target))
        except OSError:  # a part is a file, not a folder: skip it
            continue
        rel = str(path.relative_to(root))
        if path.is_dir() or any(part.startswith(".") for part in item.parts[:-1]):
            continue
        made.append(rel)
        if item.kind == "file" and item.data == GOOD:
            good.append(rel)
    return good, made


@settings(
    max_examples=_examples(15),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(items=st.lists(entries, min_size=1, max_size=12))
def test_generated_repositories(
    tmp_path_factory: pytest.TempPathFactory, items: list[Entry]
) -> None:
    base = tmp_path_factory.mktemp("gen")
    root, state = base / "repo", base / "state"
    try:
        write(root, "anchor.py", GOOD)
        good, made = _materialize(root, items)
        cold, result = extract_both(root, state, use_git=False)
        # Exactly the files made are listed (nothing dropped, nothing twice), under distinct paths.
        scan = scan_repo(root, use_git=False)
        assert sorted(f.os_path for f in scan.files) == sorted(["anchor.py", *made])
        shown = {f.os_path: f.path for f in scan.files}
        assert len(set(shown.values())) == len(shown)
        problems = assert_accounted(cold, {}, [shown[p] for p in ["anchor.py", *good]], exact=False)
        assert_same(cold, result)
        with deadline():
            again = extract_incremental(root, state_dir=state, use_git=False)
        # Only files that could not be read (their bytes are unknown) are extracted again.
        assert set(again.extracted) <= {p for p, r in problems.items() if r["stage"] == "read"}
        assert again.removed == ()
        assert_same(cold, again)
    finally:
        shutil.rmtree(base, ignore_errors=True)


# -- a whole build into a real Delta store ------------------------------------------------------


def _cpg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cpg_core.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=DEADLINE_S * 2,
    )


def _error_keys(table: pa.Table) -> set[tuple[str, str, str]]:
    return {(r["path"], r["stage"], r["error_type"]) for r in table.to_pylist()}


@pytest.mark.slow
def test_cpg_build_over_a_hostile_repository(tmp_path: Path) -> None:
    repo = _odd_repo(tmp_path, git=False)
    root = repo.root
    write(root, "pkg/calls.py", b"from pkg.mod import ok\n\n\ndef main():\n    return ok(1)\n")
    for rel in ("deep/parens.py", "enc/utf16_bom.py", "enc/punycode_cookie.py", "nul/middle.py"):
        write(root, rel, CONTENTS[rel][0])
    store = tmp_path / "store"
    built = _cpg("build", str(root), "--store", str(store), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    expected = extract_repo(root)
    assert "extraction problem(s)" in built.stderr
    delta = DeltaStore(store)
    stored = delta.read("extract_errors")
    assert _error_keys(stored) == _error_keys(expected["extract_errors"])
    assert len(stored.to_pylist()) == expected["extract_errors"].num_rows >= 11
    nodes = {(r["path"], r["node_kind"]) for r in delta.read("cpg_nodes").to_pylist()}
    for path in ("good.py", "pkg/mod.py", "pkg/calls.py", "d.py/inner.py"):
        assert (path, "MODULE") in nodes, path
    assert dangling_edges(delta.read("cpg_edges"), delta.read("cpg_nodes")).failing_rows == 0

    # The same store again, through build_project: one bad file fixed, a new FIFO.
    (root / "nul/middle.py").write_bytes(GOOD)
    os.mkfifo(root / "late_pipe.py")
    project = replace(Project.from_views([], include_cpg=True), repo=root, store=store)
    with deadline():
        run = build_project(project)
    assert run.extract is not None
    assert set(run.extract.extracted) >= {"nul/middle.py", "late_pipe.py"}
    expected = extract_repo(root)
    assert run.extract.errors == expected["extract_errors"].num_rows
    assert _error_keys(delta.read("extract_errors")) == _error_keys(expected["extract_errors"])
    assert ("late_pipe.py", "read", "NotRegularFile") in _error_keys(expected["extract_errors"])
