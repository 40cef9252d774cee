"""Turning file bytes into the text Python would compile, and positions into byte offsets.

Byte offsets index the UTF-8 text the parser saw: for UTF-8 files that is the file itself (a BOM is
counted, so offsets always index the file), for files in another declared encoding it is their UTF-8
re-encoding (``files.encoding`` says which).
"""

from __future__ import annotations

import bisect
import re
import tokenize
from dataclasses import dataclass, field
from typing import NamedTuple

_UTF8 = ("utf-8", "utf-8-sig")
_NEWLINE = re.compile(rb"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"
_CONTINUATION = re.compile(rb"[\x80-\xbf]")


class DecodeFailure(Exception):
    """Bytes that Python would refuse before parsing (bad cookie, undecodable bytes, NUL)."""

    def __init__(self, error_type: str, message: str, line: int | None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.line = line


class Decoded(NamedTuple):
    """Decoded source: ``text`` for the parser, ``src`` the UTF-8 bytes positions refer to."""

    text: str
    src: bytes
    encoding: str
    base: int  # added to every offset into ``src`` to get an offset into the file


def line_of_offset(data: bytes, offset: int) -> int:
    """1-based line number holding byte ``offset`` (newline conventions as in the tokenizer)."""
    head = data[:offset]
    return len(_NEWLINE.findall(head)) + 1 if b"\r" in head else head.count(b"\n") + 1


def decode_source(data: bytes) -> Decoded:
    """Decode like CPython does (PEP 263 cookie, BOM, UTF-8 default) or raise ``DecodeFailure``."""
    nul = data.find(b"\0")
    if nul >= 0:
        line = line_of_offset(data, nul)
        raise DecodeFailure("NulByte", f"source contains a NUL byte at line {line}", line)
    head = _first_lines(data)
    if data.startswith(_BOM) or any(b"coding" in line for line in head):
        try:
            encoding, _ = tokenize.detect_encoding(iter(head).__next__)
        except SyntaxError as exc:
            line = 1 if len(head) < 2 or b"coding" in head[0] else 2
            raise DecodeFailure(type(exc).__name__, str(exc), line) from None
    else:
        encoding = "utf-8"
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = line_of_offset(data, exc.start)
        raise DecodeFailure(
            "UnicodeDecodeError", f"{encoding} codec can't decode: {exc.reason} (line {line})", line
        ) from None
    except Exception as exc:  # a codec is code: rot13 raises LookupError, punycode UnicodeError
        raise DecodeFailure(type(exc).__name__, str(exc), 1) from None
    if encoding in _UTF8:
        has_bom = data.startswith(_BOM)
        return Decoded(text, data[3:] if has_bom else data, encoding, 3 if has_bom else 0)
    return Decoded(text, text.encode("utf-8", "surrogatepass"), encoding, 0)


def _first_lines(data: bytes) -> list[bytes]:
    """The first two lines with their ends, which may be ``\\r\\n``, ``\\r`` or ``\\n``.

    CPython's tokenizer reads a coding cookie from lines ended by a lone ``\\r`` too; `tokenize`'s
    own reader splits at ``\\n`` only, and would read a CR-only file as one undecodable line.
    """
    lines: list[bytes] = []
    start = 0
    for match in _NEWLINE.finditer(data):
        lines.append(data[start : match.end()])
        start = match.end()
        if len(lines) == 2:
            return lines
    if start < len(data):
        lines.append(data[start:])
    return lines


@dataclass(slots=True)
class LineIndex:
    """Line starts of ``src`` so (line, UTF-8 column) maps to a byte offset in O(1).

    Columns in the tables are code points; for ASCII files they equal byte columns, otherwise a
    line's prefix is decoded on demand.
    """

    src: bytes
    starts: list[int]
    ascii: bool
    # per non-ASCII line: offsets (in the line) of its UTF-8 continuation bytes, built on demand
    _continuations: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, src: bytes) -> LineIndex:
        """Index the line starts (``\\r\\n``, ``\\r`` and ``\\n`` end lines, as in the tokenizer)."""
        if b"\r" in src:
            starts = [0, *(m.end() for m in _NEWLINE.finditer(src))]
        else:
            starts = [0]
            find = src.find
            pos = find(b"\n")
            while pos >= 0:
                starts.append(pos + 1)
                pos = find(b"\n", pos + 1)
        return cls(src, starts, src.isascii())

    @property
    def line_count(self) -> int:
        """Number of lines, a trailing newline not starting a new one (empty source: 0)."""
        n = len(self.starts)
        return n - 1 if self.starts[-1] == len(self.src) else n

    def char_col(self, line: int, byte_col: int) -> int:
        """Code-point column of a UTF-8 byte column on a 1-based line."""
        if self.ascii:
            return byte_col
        continuations = self._continuations.get(line)
        if continuations is None:
            start = self.starts[line - 1]
            end = self.starts[line] if line < len(self.starts) else len(self.src)
            text = self.src[start:end]
            continuations = (
                [] if text.isascii() else [m.start() for m in _CONTINUATION.finditer(text)]
            )
            self._continuations[line] = continuations
        # A code point is one lead byte plus its continuation bytes: columns count lead bytes.
        # (Decoding the line's prefix per call was quadratic on a long non-ASCII one-liner.)
        return byte_col - bisect.bisect_left(continuations, byte_col)

    def end_position(self) -> tuple[int, int]:
        """(line, code-point col) of the end of the source."""
        last = len(self.starts)
        start = self.starts[-1]
        return last, len(self.src[start:].decode("utf-8", "replace"))
