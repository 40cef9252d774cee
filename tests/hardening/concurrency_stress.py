"""Repeated races of two `cpg build` processes on one store, and what each race left behind.

Each race starts two real `cpg build REPO --store STORE --json` processes, the second after a
random offset (seeded). Races alternate between a fresh store and a store that already holds an
older build of the repository (one module has been added since, so both builds have to write),
and between the default wait for the store lock (30 s) and failing fast
(`CPG_STORE_LOCK_TIMEOUT=0`). After every race: each build exited 0 or exited 2 saying the store
is busy; every table is readable at every version with the data version its Delta log records;
the tables equal a clean build's; and one more build executes and writes nothing.

    .venv/bin/python -m tests.hardening.concurrency_stress [--races 12] [--max-offset 4] [--seed 0]
        [--repo PATH] [--json]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from cpg_core.store.lock import TIMEOUT_ENV
from tests.hardening.races import (
    EXTRA_MODULE,
    Outcome,
    assert_ended_well,
    build_in_process,
    finish,
    start_build,
    store_contents,
)
from tests.paths import FIXTURE_REPO


@dataclass(frozen=True)
class Race:
    index: int
    store: str  # "fresh" or "rebuild"
    wait: str  # "default" or "fail-fast"
    offset_s: float
    exits: tuple[int, int]
    executed: tuple[int | None, int | None]  # views executed by each build (None: it failed)
    consistent: bool
    problem: str | None
    seconds: float

    @property
    def outcome(self) -> str:
        if not self.consistent:
            return "INCONSISTENT"
        if self.exits == (0, 0):
            return "both succeeded"
        return "one refused: store is busy"


def _executed(outcome: Outcome) -> int | None:
    return len(outcome.executed) if outcome.manifest is not None else None


def run_race(
    index: int, repo: Path, old_repo: Path, work: Path, clean: dict[str, str], offset: float
) -> Race:
    """Race number `index`: even ones on a fresh store, odd ones on a store holding a build of
    `old_repo`; races 2, 3 (mod 4) fail fast instead of waiting for the lock."""
    fresh = index % 2 == 0
    fail_fast = index % 4 in (2, 3)
    folder = work / f"race{index}"
    store = folder / "store"
    if not fresh:
        build_in_process(old_repo, store)
    env = {TIMEOUT_ENV: "0"} if fail_fast else {}
    started = time.perf_counter()
    first = start_build(repo, store, folder / "cwd0", env)
    time.sleep(offset)
    second = start_build(repo, store, folder / "cwd1", env)
    outcomes = [finish(first), finish(second)]
    problem = None
    try:
        assert_ended_well(outcomes)
        assert store_contents(store) == clean, "tables differ from a clean build"
        assert build_in_process(repo, store) == ([], [], []), "the next build was not a no-op"
        assert store_contents(store) == clean, "the no-op build changed the tables"
    except AssertionError as error:
        problem = str(error)[:2000] or repr(error)
    seconds = time.perf_counter() - started
    shutil.rmtree(folder, ignore_errors=True)
    return Race(
        index=index,
        store="fresh" if fresh else "rebuild",
        wait="fail-fast" if fail_fast else "default",
        offset_s=offset,
        exits=(outcomes[0].returncode, outcomes[1].returncode),
        executed=(_executed(outcomes[0]), _executed(outcomes[1])),
        consistent=problem is None,
        problem=problem,
        seconds=seconds,
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--races", type=int, default=12)
    parser.add_argument("--max-offset", type=float, default=4.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repo", type=Path, default=FIXTURE_REPO)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="cpg-races-") as tmp:
        work = Path(tmp)
        old_repo = work / "old_repo"
        repo = work / "repo"
        shutil.copytree(args.repo, old_repo, ignore=shutil.ignore_patterns(".ruff_cache"))
        shutil.copytree(old_repo, repo)
        (repo / "cpg_stress_added.py").write_text(EXTRA_MODULE, encoding="utf-8")
        build_in_process(repo, work / "clean")
        clean = store_contents(work / "clean")
        races = []
        for index in range(args.races):
            offset = round(rng.uniform(0.0, args.max_offset), 2)
            race = run_race(index, repo, old_repo, work, clean, offset)
            races.append(race)
            print(
                f"race {index:>2} {race.store:<7} {race.wait:<9} offset {race.offset_s:4.2f} s: "
                f"exits {race.exits}, views executed {race.executed}, {race.outcome} "
                f"({race.seconds:.1f} s)",
                file=sys.stderr,
                flush=True,
            )
    counts = Counter(r.outcome for r in races)
    if args.json:
        report = {"races": [asdict(r) | {"outcome": r.outcome} for r in races], "counts": counts}
        print(json.dumps(report, indent=2))
    else:
        print(f"{len(races)} races of two `cpg build` processes on one store ({args.repo}):")
        for outcome, count in sorted(counts.items()):
            print(f"  {count:>3}  {outcome}")
        for race in races:
            if race.problem:
                print(f"race {race.index}: {race.problem}")
    return 0 if all(r.consistent for r in races) else 1


if __name__ == "__main__":
    sys.exit(main())
