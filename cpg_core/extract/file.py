"""Extraction of one file: bytes -> rows for every evidence table.

Per file on purpose: the output depends only on (path, module, is_package, bytes, options), so a later
cache can key it by content hash. A file either has complete evidence or only its ``files`` row plus
``extract_errors`` rows -- never half a walk. The one exception is a compile-only error (``return``
outside a function, ...): the parse and symtable succeeded, so the evidence is kept and the error row
says the compiler rejects the file.
"""

from __future__ import annotations

import ast
import hashlib
import os
import sys
import warnings
from collections.abc import Generator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from cpg_core.extract.astwalk import Row, Walker
from cpg_core.extract.fsread import ReadFailure, read_source_file, too_large_message
from cpg_core.extract.model import ExtractOptions, FileInfo
from cpg_core.extract.schema import TABLE_NAMES
from cpg_core.extract.source import DecodeFailure, LineIndex, decode_source
from cpg_core.extract.symtab import Aligner, build_symtable

FileEvidence = dict[str, list[Row]]
# The walk recurses once or twice per AST level; CPython builds ASTs up to ~3x the recursion limit
# deep, so the walk needs more head room than the default. Python-to-Python calls do not use the C
# stack on 3.11+, so this is safe; the parser and symtable keep the default limit.
WALK_RECURSION_LIMIT = 20_000
_TABLE_ROWS = TABLE_NAMES


def new_evidence() -> FileEvidence:
    """Empty row lists for every table."""
    return {name: [] for name in _TABLE_ROWS}


def extract_file(
    root: str | os.PathLike[str], info: FileInfo, options: ExtractOptions | None = None
) -> FileEvidence:
    """Read ``root/info.path`` and extract it; unreadable or oversized files become error rows."""
    options = options or ExtractOptions()
    try:
        top = Path(root)
        data = read_source_file(top / info.os_path, options.max_file_bytes, root=top)
    except ReadFailure as exc:
        size = info.size if exc.size is None else exc.size
        return _failed(info, size, None, None, "read", exc.error_type, exc.message)
    return extract_source(info, data, options)


def _walk(
    info: FileInfo, tree: ast.Module, top: Any, index: LineIndex, base: int
) -> tuple[FileEvidence, Aligner]:
    """The AST walk and the symbol-table alignment of one parsed file."""
    out = new_evidence()
    with _recursion_limit(WALK_RECURSION_LIMIT):
        walker = Walker(
            path=info.path,
            module=info.module,
            is_package=info.is_package,
            index=index,
            base=base,
            tables=out,
        )
        walker.run(tree)
        aligner = Aligner(
            path=info.path,
            module_def_id=walker.module_def_id,
            module_scope_id=walker.module_scope_id,
            module_span=walker.module_span,
            candidates=walker.candidates,
            scopes=out["scopes"],
            symbols=out["symbols"],
        )
        aligner.run(top)
    return out, aligner


def extract_source(
    info: FileInfo, data: bytes, options: ExtractOptions | None = None
) -> FileEvidence:
    """Extract evidence from the file's bytes (no file system access)."""
    options = options or ExtractOptions()
    size = len(data)
    if size > options.max_file_bytes:
        return _failed(info, size, None, None, "read", "FileTooLarge", _too_large(size, options))
    sha = hashlib.sha256(data).hexdigest()
    try:
        decoded = decode_source(data)
    except DecodeFailure as exc:
        lines = LineIndex.build(data).line_count
        return _failed(info, size, sha, lines, "decode", exc.error_type, exc.message, exc.line)
    index = LineIndex.build(decoded.src)
    line_count = index.line_count
    path = info.path

    def failed(stage: str, exc: BaseException) -> FileEvidence:
        line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc) or type(exc).__name__
        return _failed(
            info, size, sha, line_count, stage, type(exc).__name__, message, line, decoded.encoding
        )

    # Whatever CPython raises on a hostile file (SyntaxError, RecursionError, MemoryError,
    # ValueError, UnicodeEncodeError for a surrogate a codec produced, ...) is that file's problem.
    with _quiet():
        try:
            tree = ast.parse(decoded.text, filename=path)
        except Exception as exc:
            return failed("parse", exc)
        try:
            top = build_symtable(decoded.text, path)
        except Exception as exc:
            return failed("symtable", exc)
        compile_error: BaseException | None = None
        if options.check_compile:
            try:
                compile(tree, path, "exec", dont_inherit=True)
            except Exception as exc:
                compile_error = exc

    try:
        out, aligner = _walk(info, tree, top, index, decoded.base)
    except Exception as exc:  # a bug or an absurd input must not stop the repository
        return failed("walk", exc)
    del tree, top
    _fold_unaligned(out, aligner)
    status = "ok"
    errors = out["extract_errors"]
    for message, line in aligner.problems:
        errors.append((path, "align", "AlignmentError", message, line))
    if compile_error is not None:
        status = "compile_error"
        exc = compile_error
        line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        errors.append((path, "compile", type(exc).__name__, message, line))
    out["files"].append(_files_row(info, size, sha, line_count, decoded.encoding, status))
    return out


def _fold_unaligned(out: FileEvidence, aligner: Aligner) -> None:
    """Comprehensions without a symtable block of their own (3.12+ inlining) belong to the parent.

    Rows that named such a comprehension as their scope are re-pointed at the enclosing scope, so
    every ``scope_id`` in the file names a ``scopes`` row.
    """
    leftovers = aligner.leftovers()
    if not leftovers:
        return
    parent_of = {cand[0]: key[0] for key, found in aligner.candidates.items() for cand in found}

    def resolve(scope_id: str) -> str:
        while scope_id in parent_of:
            scope_id = parent_of[scope_id]
        return scope_id

    for cand in leftovers:
        if cand[2] != "comprehension":
            out["extract_errors"].append(
                (aligner.path, "align", "AlignmentError", f"no symtable block for {cand[0]}", None)
            )
    for table, column in (("refs", 2), ("calls", 2), ("imports", 2), ("defs", 7)):
        rows = out[table]
        for i, row in enumerate(rows):
            scope_id = row[column]
            if scope_id in parent_of:
                rows[i] = (*row[:column], resolve(scope_id), *row[column + 1 :])


def _files_row(
    info: FileInfo,
    size: int | None,
    sha: str | None,
    line_count: int | None,
    encoding: str | None,
    status: str,
) -> Row:
    return (
        f"file:{info.path}",
        info.path,
        info.module,
        info.is_package,
        info.source_root,
        size,
        sha,
        line_count,
        encoding,
        status,
    )


def _failed(
    info: FileInfo,
    size: int | None,
    sha: str | None,
    line_count: int | None,
    stage: str,
    error_type: str,
    message: str,
    line: int | None = None,
    encoding: str | None = None,
) -> FileEvidence:
    out = new_evidence()
    out["files"].append(_files_row(info, size, sha, line_count, encoding, "failed"))
    out["extract_errors"].append((info.path, stage, error_type, message, line or None))
    return out


def _too_large(size: int, options: ExtractOptions) -> str:
    return too_large_message(size, options.max_file_bytes)


@contextmanager
def _quiet() -> Generator[None, None, None]:
    """Parsing emits SyntaxWarning/DeprecationWarning for odd escapes; they are not our output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextmanager
def _recursion_limit(limit: int) -> Generator[None, None, None]:
    old = sys.getrecursionlimit()
    if old >= limit:
        yield
        return
    sys.setrecursionlimit(limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)
