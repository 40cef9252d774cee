"""Reading a repository's files safely: regular files inside the repository, bounded, never blocking.

A repository can hold anything under a ``.py`` name: a FIFO (``open`` waits for a writer forever),
a socket, a device or a symlink to one (``/dev/zero`` never ends), a directory, a symlink to a file
elsewhere on the machine (whose contents would end up in the store). `read_source_file` opens only
regular files that resolve inside the scan root, with ``O_NONBLOCK``, checks the open descriptor
again (the path may be swapped in between), and never reads more than the size limit plus one byte
(a file that grows, or a ``/proc`` file whose size says 0, cannot make it read without end).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

READ_CHUNK = 1 << 20
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_FILE_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


class ReadFailure(Exception):
    """A file that cannot be read as source. `error_type` is an `OSError` subclass name, or
    ``NotRegularFile``, ``OutsideRepository``, ``FileTooLarge``; `size` is known for the last."""

    def __init__(self, error_type: str, message: str, size: int | None = None) -> None:
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.size = size


def read_source_file(path: Path, max_bytes: int, *, root: Path | None = None) -> bytes:
    """The bytes of the regular file ``path`` (at most ``max_bytes``), or `ReadFailure`.

    With ``root``, a path that resolves outside ``root`` (through a symlink) is refused.
    """
    try:
        st = path.stat()
        _check_regular(st.st_mode, st.st_size, max_bytes)
        if root is not None and not resolves_inside(root, path):
            raise ReadFailure("OutsideRepository", "a symlink to a file outside the repository")
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ReadFailure(type(exc).__name__, os_message(exc)) from None
    try:
        st = os.fstat(fd)
        _check_regular(st.st_mode, st.st_size, max_bytes)
        chunks: list[bytes] = []
        left = max_bytes + 1
        while left > 0:
            chunk = os.read(fd, min(left, READ_CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
    except OSError as exc:
        raise ReadFailure(type(exc).__name__, os_message(exc)) from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > max_bytes:
        raise ReadFailure("FileTooLarge", too_large_message(len(data), max_bytes), len(data))
    return data


def resolves_inside(root: Path, path: str | os.PathLike[str]) -> bool:
    """Do ``path`` and ``root`` resolve (every symlink followed) to ``root`` itself or below it?"""
    try:
        real = os.path.realpath(path, strict=True)
        top = os.path.realpath(root, strict=True)
    except (OSError, ValueError):
        return False
    return real == top or real.startswith(top.rstrip("/") + "/")


def too_large_message(size: int, max_bytes: int) -> str:
    return f"file is {size} bytes, over the limit of {max_bytes} bytes"


def os_message(exc: OSError) -> str:
    """OS error text without the absolute path (messages must not depend on the machine)."""
    return exc.strerror or type(exc).__name__


def _check_regular(mode: int, size: int, max_bytes: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
        raise ReadFailure("NotRegularFile", f"{kind}, not a regular file")
    if size > max_bytes:
        raise ReadFailure("FileTooLarge", too_large_message(size, max_bytes), size)
