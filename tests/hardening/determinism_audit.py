"""Determinism audit: one repository built under several configurations, every hash compared.

Each configuration is a separate `cpg build` process (the console script; a configuration that
pins DataFusion's target partitions runs the same `run_build` through this module, because the
CLI has no flag for it) into its own fresh store and working folder (so its own compile cache).
Configurations differ in `PYTHONHASHSEED`, execution mode and executor (serial, parallel threads,
parallel processes; parallel modes also extract with 2 worker processes), DataFusion target
partitions and runtime threads (`TOKIO_WORKER_THREADS`, `OMP_NUM_THREADS`).

Compared, and required to be identical: every table's data version as recorded in its Delta log
and the content hash of its rows read back (which must also agree with each other within a run),
the plan signature, the reduced signature, the schedule and validation artifact IDs, and every
other manifest field except those that describe how the run went (`run_id`, `duration_s`,
`mode`, `executor`, `max_tasks`, `submission_order`, `routing`, the order of `executed`, and
each data test's `duration_s`):
those are reported, not failed. Exit 1 when anything required differs.

    .venv/bin/python -m tests.hardening.determinism_audit [--repo PATH] [--json] [--configs a,b]
        [--save report.json] [--keep DIR]

The default repository is the installed standard library (slow: ~100 s of extraction per run).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgspec

from cpg_core.store.delta_store import DeltaStore
from cpg_core.store.partitions import table_version
from tests.paths import child_env

CPG: Final = Path(sys.executable).with_name("cpg")
# Manifest fields that describe how a run went, not what it produced: reported, never failed.
RUN_FIELDS: Final = ("run_id", "duration_s", "mode", "executor", "max_tasks")
ORDER_FIELDS: Final = ("submission_order", "routing", "executed")
ARTIFACT_FIELDS: Final = (
    "plan_signature",
    "reduced_signature",
    "schedule_artifact_id",
    "validation_artifact_id",
)


@dataclass(frozen=True)
class AuditConfig:
    """One way of running the same build."""

    name: str
    mode: str = "serial"
    executor: str = "threads"
    max_tasks: int | None = None
    hash_seed: str = "0"
    target_partitions: int | None = None  # None: cpg's default (cores // concurrency)
    runtime_threads: int | None = None  # TOKIO_WORKER_THREADS and OMP_NUM_THREADS

    def describe(self) -> str:
        parts = [self.mode]
        if self.mode != "serial":
            parts.append(f"{self.executor} x{self.max_tasks or 2}")
        parts.append(f"PYTHONHASHSEED={self.hash_seed}")
        cores = os.cpu_count() or 1
        concurrency = 1 if self.mode == "serial" else self.max_tasks or 2
        partitions = self.target_partitions or max(1, cores // concurrency)
        default = "" if self.target_partitions else " (default)"
        parts.append(f"target partitions {partitions}{default}")
        parts.append(f"extract workers {concurrency}")
        if self.runtime_threads is not None:
            parts.append(f"runtime threads {self.runtime_threads}")
        return ", ".join(parts)

    def env(self) -> dict[str, str]:
        # pinned partitions run `python -m tests.hardening.determinism_audit`: `tests` on the path
        env = child_env() if self.target_partitions is not None else dict(os.environ)
        env["PYTHONHASHSEED"] = self.hash_seed
        for name in ("TOKIO_WORKER_THREADS", "OMP_NUM_THREADS"):
            env.pop(name, None)
            if self.runtime_threads is not None:
                env[name] = str(self.runtime_threads)
        return env

    def command(self, repo: Path, store: Path) -> list[str]:
        """`cpg build ... --json`, or this module's `--run-one` when partitions are pinned."""
        if self.target_partitions is None:
            command = [str(CPG), "build", str(repo)]
        else:
            command = [
                sys.executable,
                "-m",
                "tests.hardening.determinism_audit",
                "--run-one",
                str(repo),
            ]
            command += ["--target-partitions", str(self.target_partitions)]
        command += ["--store", str(store), "--mode", self.mode, "--json"]
        if self.mode != "serial":
            command += ["--executor", self.executor, "--max-tasks", str(self.max_tasks or 2)]
        return command


# The full audit (4 builds of the stdlib ≈ 8-10 minutes on 2 cores).
DEFAULT_CONFIGS: Final = (
    AuditConfig("serial", hash_seed="0"),
    AuditConfig("serial-tp1", hash_seed="4242", target_partitions=1, runtime_threads=1),
    AuditConfig("threads", mode="parallel", executor="threads", max_tasks=2, hash_seed="987654"),
    AuditConfig(
        "processes",
        mode="parallel",
        executor="processes",
        max_tasks=2,
        hash_seed="31337",
        target_partitions=4,
        runtime_threads=3,
    ),
)
CONFIGS_BY_NAME: Final = {c.name: c for c in DEFAULT_CONFIGS}


@dataclass(frozen=True)
class TableHashes:
    """One table as stored by one run: the data version its Delta log records, the content hash
    of its rows read back, its row count."""

    recorded: str | None
    read: str
    rows: int


@dataclass
class RunOutcome:
    config: AuditConfig
    seconds: float
    manifest: dict[str, Any]
    tables: dict[str, TableHashes]


class AuditRunError(RuntimeError):
    """A configuration's build failed (the message has the end of its stderr)."""


def store_hashes(root: Path) -> dict[str, TableHashes]:
    """Every dataset table of a store: recorded data version, content hash of what is read."""
    store = DeltaStore(root)
    out: dict[str, TableHashes] = {}
    for name in store.names():
        info = store.info(name)
        rows = store.read(name)
        out[name] = TableHashes(
            recorded=info.data_version if info is not None else None,
            read=table_version(rows, info.partition_by if info is not None else None),
            rows=rows.num_rows,
        )
        del rows
    return out


def run_config(config: AuditConfig, repo: Path, workdir: Path) -> RunOutcome:
    """Build `repo` with `config` in a fresh process, working folder and store."""
    folder = workdir / config.name
    folder.mkdir(parents=True)
    store = folder / "store"
    started = time.perf_counter()
    done = subprocess.run(
        config.command(repo.resolve(), store),
        cwd=folder,
        env=config.env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    # exit 1 with a manifest = invalid views (also a result to compare); anything else failed
    if done.returncode not in (0, 1) or not done.stdout.strip():
        raise AuditRunError(
            f"configuration {config.name} exited {done.returncode}: {done.stderr[-3000:]}"
        )
    manifest = json.loads(done.stdout.strip().splitlines()[0])
    return RunOutcome(config, seconds, manifest, store_hashes(store))


# ------------------------------------------------------------------------------ comparison


@dataclass(frozen=True)
class Row:
    """One compared item: its value per configuration. A required row passes when every value
    is the same (and equals `expect`, when given); other rows are only reported."""

    item: str
    values: tuple[str, ...]
    required: bool = True
    expect: str | None = None

    @property
    def same(self) -> bool:
        if self.expect is not None:
            return all(v == self.expect for v in self.values)
        return len(set(self.values)) == 1


@dataclass
class Comparison:
    configs: list[AuditConfig]
    seconds: list[float]
    rows: list[Row] = field(default_factory=list)
    manifest_notes: list[str] = field(default_factory=list)

    @property
    def differences(self) -> list[Row]:
        return [r for r in self.rows if r.required and not r.same]

    @property
    def identical(self) -> bool:
        return not self.differences


def _digest(value: object) -> str:
    return hashlib.sha256(msgspec.json.encode(value, order="deterministic")).hexdigest()


def compare(outcomes: Sequence[RunOutcome]) -> Comparison:
    """Every table, artifact ID and manifest field of the runs side by side."""
    result = Comparison([o.config for o in outcomes], [o.seconds for o in outcomes])
    manifests = [o.manifest for o in outcomes]
    for name in ARTIFACT_FIELDS:
        result.rows.append(Row(name, tuple(str(m.get(name)) for m in manifests)))
    names = sorted({n for o in outcomes for n in o.tables})
    for name in names:
        found = [o.tables.get(name) for o in outcomes]
        recorded = tuple(t.recorded or "-" if t else "absent" for t in found)
        read = tuple(t.read if t else "absent" for t in found)
        result.rows.append(Row(f"table {name}", recorded))
        if len(set(read)) != 1:
            result.rows.append(Row(f"  content hash read ({name})", read))
    result.rows.append(
        Row(
            "rows (all tables)",
            tuple(str(sum(t.rows for t in o.tables.values())) for o in outcomes),
        )
    )
    # within each run, the rows read back must hash to the version its Delta log records
    torn = [sorted(n for n, t in o.tables.items() if t.recorded != t.read) for o in outcomes]
    agree = tuple("ok" if not bad else "bad: " + ",".join(bad) for bad in torn)
    result.rows.append(Row(f"read == recorded ({len(names)} tables)", agree, expect="ok"))
    fields = sorted({k for m in manifests for k in m} - set(ARTIFACT_FIELDS))
    for key in fields:
        values = [m.get(key) for m in manifests]
        if key in RUN_FIELDS:
            continue
        if key == "executed":  # the set is content; the order follows completion
            result.rows.append(
                Row("manifest executed (set)", tuple(_digest(sorted(v or [])) for v in values))
            )
            if len({_digest(v) for v in values}) > 1:
                result.manifest_notes.append(_order_note("executed", values, manifests))
            continue
        if key in ORDER_FIELDS:
            if len({_digest(v) for v in values}) > 1:
                result.manifest_notes.append(_order_note(key, values, manifests))
            continue
        if key == "data_tests":  # each test's result is content; how long it took is not
            values = [_without_durations(v) for v in values]
        result.rows.append(Row(f"manifest {key}", tuple(_digest(v) for v in values)))
    return result


def _without_durations(report: Any) -> Any:
    """A data test report with each result's `duration_s` left out (timing, not content)."""
    if not isinstance(report, dict):
        return report
    results = [{k: v for k, v in r.items() if k != "duration_s"} for r in report.get("results", [])]
    return {**report, "results": results}


def _order_note(key: str, values: list[Any], manifests: list[dict[str, Any]]) -> str:
    """How an order/routing field differs between runs (allowed), in one line."""
    if key == "routing":
        parts = []
        for manifest, value in zip(manifests, values, strict=True):
            counts = Counter(r["executor"] for r in value or [])
            parts.append(
                f"{manifest['mode']}: " + ", ".join(f"{e} x{n}" for e, n in sorted(counts.items()))
            )
        return "routing differs (allowed: where each view ran): " + "; ".join(parts)
    first = list(values[0] or [])
    parts = []
    for value in values[1:]:
        moved = sum(1 for a, b in zip(first, value or [], strict=False) if a != b)
        parts.append(f"{moved} of {len(first)} positions differ from the first run")
    return f"{key} differs in order (allowed: parallel runs follow completion): " + "; ".join(parts)


# ------------------------------------------------------------------------------ rendering


def render(comparison: Comparison, repo: Path) -> str:
    letters = [chr(ord("A") + i) for i in range(len(comparison.configs))]
    lines = [f"determinism audit of {repo}: {len(comparison.configs)} configurations"]
    for letter, config, seconds in zip(
        letters, comparison.configs, comparison.seconds, strict=True
    ):
        lines.append(f"  {letter} {config.name:<11} {config.describe()}  ({seconds:.1f} s)")
    width = max(len(r.item) for r in comparison.rows) + 2
    header = "".join(f"{letter:<14}" for letter in letters)
    lines.append("")
    lines.append("values: first 12 hex digits; tables: the data version in the Delta log;")
    lines.append("manifest rows: sha256 of the field's JSON")
    lines.append(f"{'item':<{width}}{header}result")
    for row in comparison.rows:
        cells = "".join(f"{v[:12]:<14}" for v in row.values)
        verdict = "same" if row.same else ("DIFFERS" if row.required else "differs (allowed)")
        lines.append(f"{row.item:<{width}}{cells}{verdict}")
    tables = sum(1 for r in comparison.rows if r.item.startswith("table "))
    lines.append("")
    if comparison.identical:
        lines.append(
            f"IDENTICAL: {tables} tables (recorded and read content hashes), "
            f"{len(ARTIFACT_FIELDS)} signatures/artifact IDs and every other manifest field"
        )
    else:
        lines.append(f"DIFFERENT: {', '.join(r.item.strip() for r in comparison.differences)}")
    for note in comparison.manifest_notes:
        lines.append(f"note: {note}")
    return "\n".join(lines)


def report_json(comparison: Comparison, repo: Path) -> dict[str, Any]:
    return {
        "repo": str(repo),
        "identical": comparison.identical,
        "configs": [
            {**dataclasses.asdict(c), "describe": c.describe(), "seconds": s}
            for c, s in zip(comparison.configs, comparison.seconds, strict=True)
        ],
        "rows": [
            {
                "item": r.item.strip(),
                "values": list(r.values),
                "required": r.required,
                "same": r.same,
            }
            for r in comparison.rows
        ],
        "differences": [r.item.strip() for r in comparison.differences],
        "manifest_notes": comparison.manifest_notes,
    }


def audit(
    repo: Path, configs: Sequence[AuditConfig], workdir: Path, *, progress: bool = False
) -> Comparison:
    """Run every configuration (one after the other) and compare."""
    outcomes = []
    for config in configs:
        if progress:
            print(f"running {config.name}: {config.describe()} ...", file=sys.stderr, flush=True)
        outcomes.append(run_config(config, repo, workdir))
        if progress:
            print(f"  {outcomes[-1].seconds:.1f} s", file=sys.stderr, flush=True)
    return compare(outcomes)


# ------------------------------------------------------------------------------ entry points


def _run_one(argv: Sequence[str]) -> None:
    """`cpg build`'s own code path with pinned DataFusion target partitions (no CLI flag)."""
    from cpg_core.cli_build import executor_config, run_build
    from cpg_core.project import Project

    parser = argparse.ArgumentParser(prog="determinism_audit --run-one")
    parser.add_argument("repo", type=Path)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--mode", default="serial")
    parser.add_argument("--executor", default=None)
    parser.add_argument("--max-tasks", type=int, default=None)
    parser.add_argument("--target-partitions", type=int, required=True)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    config = executor_config(
        {
            "mode": args.mode,
            "executor": args.executor,
            "max_tasks": args.max_tasks,
            "target_partitions": args.target_partitions,
        }
    )
    run_build(
        Project.from_views([], include_cpg=True),
        repo=args.repo,
        store=args.store,
        config=config,
        select=(),
        only=False,
        as_json=args.json,
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--run-one"]:
        _run_one(argv[1:])
        return 0
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repo", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    parser.add_argument("--json", action="store_true", help="print the comparison as JSON")
    parser.add_argument(
        "--configs",
        default=",".join(CONFIGS_BY_NAME),
        help=f"comma-separated subset of {', '.join(CONFIGS_BY_NAME)}",
    )
    parser.add_argument("--keep", type=Path, help="build into this folder and keep the stores")
    parser.add_argument("--save", type=Path, help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    configs = [CONFIGS_BY_NAME[n] for n in args.configs.split(",")]
    with tempfile.TemporaryDirectory(prefix="cpg-determinism-") as tmp:
        workdir = args.keep or Path(tmp)
        comparison = audit(args.repo, configs, workdir, progress=True)
    report = report_json(comparison, args.repo)
    if args.save is not None:
        args.save.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(comparison, args.repo))
    return 0 if comparison.identical else 1


if __name__ == "__main__":
    sys.exit(main())
