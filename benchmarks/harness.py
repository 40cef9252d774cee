"""What every benchmark measures the same way: time, peak memory, the common options, the output.

Why one module: two figures make a ratio only when both were read from the same clocks. Wall time
is `time.perf_counter`; this process's CPU time is `time.process_time` (every thread, DataFusion's
and Delta's Rust threads included; it barely moves when other processes compete for the cores,
wall time does); finished children's CPU time and every peak RSS come from `getrusage` (Linux
reports `ru_maxrss` in KiB). The benchmarks import these instead of redefining them
(`tests/test_layout.py` checks).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import sysconfig
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

T = TypeVar("T")
R = TypeVar("R")

STDLIB: Final = Path(sysconfig.get_paths()["stdlib"])
GIB: Final = 1024**3

# ------------------------------------------------------------------------------------- timing


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished, waited-for children."""
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return kids.ru_utime + kids.ru_stime


class Timer:
    """Wall time, this process's CPU time and its finished children's CPU time of a `with` block."""

    wall: float = 0.0
    cpu: float = 0.0
    children_cpu: float = 0.0

    def __enter__(self) -> Timer:
        self._wall, self._cpu, self._kids = time.perf_counter(), time.process_time(), children_cpu()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.perf_counter() - self._wall
        self.cpu = time.process_time() - self._cpu
        self.children_cpu = children_cpu() - self._kids

    @property
    def cpu_with_children(self) -> float:
        """The work done, wherever it ran (a compile's analysis workers, an extraction's pool)."""
        return self.cpu + self.children_cpu


def timed(fn: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of one call, and its result."""
    with Timer() as timer:
        result = fn()
    return timer.wall, result


def best_of(
    repeat: int,
    fn: Callable[[], T],
    *,
    collect_garbage: bool = False,
    with_children: bool = False,
) -> tuple[float, float, T]:
    """Fastest wall and CPU seconds of `repeat` calls (the least disturbed by other load), and
    the last result. `with_children` counts finished children's CPU; `collect_garbage` runs a
    collection before each call, outside the timing."""
    walls: list[float] = []
    cpus: list[float] = []
    result: T | None = None
    for _ in range(max(1, repeat)):
        if collect_garbage:
            gc.collect()
        with Timer() as timer:
            result = fn()
        walls.append(timer.wall)
        cpus.append(timer.cpu_with_children if with_children else timer.cpu)
    assert result is not None
    return min(walls), min(cpus), result


# ------------------------------------------------------------------------------------- memory


@dataclass(frozen=True)
class PeakRss:
    """RSS high-water marks of this process and of its largest finished child."""

    own_mib: float
    largest_child_mib: float

    @property
    def own_gib(self) -> float:
        return self.own_mib / 1024

    @property
    def largest_child_gib(self) -> float:
        return self.largest_child_mib / 1024


def peak_rss() -> PeakRss:
    """The high-water marks so far (Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return PeakRss(own_mib=own, largest_child_mib=child)


# ------------------------------------------------------------------------------------ figures


def stats(values: Sequence[float]) -> dict[str, Any]:
    """Median, range and every value (runs are noisy on a shared 2-core machine)."""
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "runs": list(values),
    }


def fmt(s: Mapping[str, Any], unit: str = "s", digits: int = 2) -> str:
    """`median [min-max]` of a `stats` dict."""
    return f"{s['median']:.{digits}f} {unit} [{s['min']:.{digits}f}-{s['max']:.{digits}f}]"


def verdict(ok: bool) -> str:
    """How a target line starts: the reader looks for MISS."""
    return "PASS" if ok else "MISS"


def load_1min() -> float:
    """The machine's 1-minute load average: other work skews timings, so it is reported."""
    return os.getloadavg()[0]


# ------------------------------------------------------------------------------------ options


def benchmark_parser(
    doc: str | None, *, json_help: str = "print the raw numbers as JSON"
) -> argparse.ArgumentParser:
    """A parser described by the first line of the benchmark's docstring, with `--json`."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help=json_help)
    return parser


def add_repeats(parser: argparse.ArgumentParser, default: int, help: str | None = None) -> None:
    """`--repeats N` (`--repeat` also accepted: older docs spell it so) into `args.repeats`."""
    parser.add_argument(
        "--repeats", "--repeat", dest="repeats", type=int, default=default, help=help
    )


def add_seed(parser: argparse.ArgumentParser) -> None:
    """`--seed N` for the generated projects (default 0: the figures in the docs)."""
    parser.add_argument("--seed", type=int, default=0)


def add_tree(parser: argparse.ArgumentParser, flag: str, help: str | None = None) -> None:
    """A folder of Python files to work on (`--root`, `--repo`, ...), by default the stdlib."""
    parser.add_argument(flag, type=Path, default=STDLIB, help=help)


# ------------------------------------------------------------------------------------- output


def emit(result: R, *, as_json: bool, render: Callable[[R], str]) -> None:
    """Print the result: indented JSON for machines, or the benchmark's own text."""
    print(json.dumps(result, indent=2) if as_json else render(result))


def print_child_result(result: Mapping[str, Any]) -> None:
    """What a benchmark's measuring subprocess prints last: one line of JSON."""
    print(json.dumps(result))


def child_result(stdout: str) -> dict[str, Any] | None:
    """The JSON line a measuring subprocess printed last (`print_child_result`), if any."""
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    return json.loads(lines[-1]) if lines else None
