"""Measured task durations by view fingerprint: the compile's cost model reads them.

Stored as one msgpack file under the store; runs append through `record_durations` only after
they succeed. A missing or unreadable file means "no history", never a failed compile.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import msgspec

from cpg_core.store.atomic import atomic_write

_FILE = Path("_cpg") / "durations.msgpack"
_KEEP = 5  # durations kept per fingerprint; the cost is their median


class _History(msgspec.Struct):
    format: int = 1
    durations: dict[str, list[float]] = msgspec.field(default_factory=dict)


def _read(store: Path) -> _History:
    try:
        return msgspec.msgpack.decode((store / _FILE).read_bytes(), type=_History)
    except (OSError, msgspec.DecodeError):
        return _History()


def load_durations(store: Path) -> dict[str, float]:
    """Fingerprint → median measured duration in seconds (empty without history)."""
    result: dict[str, float] = {}
    for fingerprint, values in _read(store).durations.items():
        ordered = sorted(values)
        if ordered:
            result[fingerprint] = ordered[len(ordered) // 2]
    return result


def record_durations(store: Path, measured: Mapping[str, float]) -> None:
    """Append measured durations (atomically: a killed run leaves the old file, and its temp
    file is removed by the next write)."""
    history = _read(store)
    for fingerprint, seconds in measured.items():
        values = history.durations.setdefault(fingerprint, [])
        values.append(float(seconds))
        del values[:-_KEEP]
    path = store / _FILE
    atomic_write(path, msgspec.msgpack.encode(history), legacy_prefix=".durations.")
