"""A watcher process that SIGKILLs a build at a file-system event inside a Delta write.

Why a separate process: a Delta write is Rust code; the moments worth killing at — a Parquet
file half uploaded, the Parquet file complete but not yet committed, the commit file staged but
not yet in place — last well under a millisecond and have no Python call around them. This
process watches the store with inotify (stdlib `ctypes` only, so it starts in milliseconds) and
sends SIGKILL the instant the k-th such event happens; it has its own GIL, so the build's
threads cannot delay it.

Events (all under ``<store>/tables``; directories created later are watched as they appear):

    data_staged    a Parquet file is created under its upload name (``part-….parquet#N``)
    data_file      a Parquet file got its final name (written, not committed)
    commit_staged  a commit file is created under its upload name (``_delta_log/000….json#N``)

Protocol (stdin/stdout, one line each)::

    python -m tests.hardening._kill_watch STORE KIND K    # K = 0: only count
    -> "ready"            watches are in place
    <- "<pid>"            the build to kill
    <- "stop"             the build ended (count mode: prints the counts as JSON)
    -> "killed <event>" | "not reached" | {"data_file": 12, ...}
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import signal
import struct
import sys
from pathlib import Path
from typing import Final

KINDS: Final = ("data_staged", "data_file", "commit_staged")
_IN_MODIFY: Final = 0x002
_IN_MOVED_TO: Final = 0x080
_IN_CREATE: Final = 0x100
_IN_ISDIR: Final = 0x40000000
_MASK: Final = _IN_CREATE | _IN_MOVED_TO
_HEADER: Final = struct.Struct("iIII")


class Watcher:
    def __init__(self, store: Path) -> None:
        self.libc = ctypes.CDLL("libc.so.6", use_errno=True)
        self.fd = self.libc.inotify_init1(os.O_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        self.store = store.absolute()
        self.tables = self.store / "tables"
        self.paths: dict[int, Path] = {}
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        existing = self.tables
        while not existing.exists():  # watch the nearest existing ancestor; descend as it grows
            existing = existing.parent
        self._watch_tree(existing)

    def _relevant(self, path: Path) -> bool:
        return (
            path == self.tables
            or self.tables.is_relative_to(path)
            or (path.is_relative_to(self.tables) and len(path.relative_to(self.tables).parts) <= 2)
        )

    def _watch_tree(self, path: Path) -> None:
        if not self._relevant(path):
            return
        wd = self.libc.inotify_add_watch(self.fd, os.fsencode(path), _MASK)
        if wd >= 0:
            self.paths[wd] = path
        try:
            children = [p for p in path.iterdir() if p.is_dir()]
        except OSError:
            return
        for child in children:
            if child not in self.paths.values():
                self._watch_tree(child)

    def kind_of(self, directory: Path, name: str, mask: int) -> str | None:
        if not directory.is_relative_to(self.tables) or directory == self.tables:
            return None
        parts = directory.relative_to(self.tables).parts
        if len(parts) == 1 and ".parquet" in name:
            if mask & _IN_CREATE and "#" in name:
                return "data_staged"
            if mask & _IN_MOVED_TO and name.endswith(".parquet"):
                return "data_file"
        if len(parts) == 2 and parts[1] == "_delta_log" and mask & _IN_CREATE and "#" in name:
            return "commit_staged"
        return None

    def events(self) -> list[tuple[str, str]]:
        """Read what happened (blocking until something did): (kind, path) of counted events."""
        data = os.read(self.fd, 1 << 16)
        found: list[tuple[str, str]] = []
        offset = 0
        while offset < len(data):
            wd, mask, _cookie, size = _HEADER.unpack_from(data, offset)
            name = data[offset + 16 : offset + 16 + size].rstrip(b"\0").decode(errors="replace")
            offset += 16 + size
            directory = self.paths.get(wd)
            if directory is None:
                continue
            if mask & _IN_ISDIR and mask & (_IN_CREATE | _IN_MOVED_TO):
                self._watch_tree(directory / name)
                continue
            kind = self.kind_of(directory, name, mask)
            if kind is not None:
                found.append((kind, str(directory / name)))
        return found


def main(store: Path, kind: str, k: int) -> None:
    watcher = Watcher(store)
    print("ready", flush=True)
    pid: int | None = None
    while True:
        readable, _, _ = select.select([watcher.fd, sys.stdin], [], [])
        if sys.stdin in readable:
            line = sys.stdin.readline().strip()
            if line.isdigit():
                pid = int(line)
            else:  # "stop" or EOF
                print(json.dumps(watcher.counts) if k == 0 else "not reached", flush=True)
                return
        if watcher.fd in readable:
            for event, path in watcher.events():
                watcher.counts[event] += 1
                if k and event == kind and watcher.counts[event] == k and pid is not None:
                    os.kill(pid, signal.SIGKILL)
                    print(f"killed {event} {path}", flush=True)
                    return


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
