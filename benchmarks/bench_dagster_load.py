"""Dagster load benchmark: Definitions of a 1,000-view plan from CpgComponent's compiled state.

What a code server pays on every (re)load once the state exists: read and verify the plan
snapshot, build asset and check specs through the translator, the lead's `cpg_definitions`
(multi_asset, sensors, schedule, job), and the repository Dagster resolves from them (asset
graph, jobs). Target: <= 3 s for 1,000 views, in-process. Compiling the plan is what
`dg utils refresh-defs-state` does once per change; it is reported separately (cold: no compile
cache; warm: the compile cache in the store, as a refresh after an unchanged edit sees it).

    .venv/bin/python -m benchmarks.bench_dagster_load                 # N = 1000
    .venv/bin/python -m benchmarks.bench_dagster_load --n 200 --repeats 3 --json

The exit status is 0 whatever the numbers: this is a report, read the PASS/MISS line.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.harness import (
    add_repeats,
    add_seed,
    benchmark_parser,
    best_of,
    emit,
    load_1min,
    timed,
    verdict,
)
from tests.synthetic_project import generate_project

TARGET_S = 3.0


def run(n: int, root: Path, *, seed: int = 0, repeat: int = 1) -> dict[str, Any]:
    """Generate, compile (cold, warm), write the component state, then time the load."""
    import dagster as dg
    from dagster.components.testing import create_defs_folder_sandbox

    from cpg_core.plan import compile_plan
    from cpg_core.plan.plan_file import read_plan_file
    from cpg_core.project import load_project
    from cpg_dagster.component import CpgComponent
    from cpg_dagster.definitions import cpg_definitions
    from cpg_dagster.specs import asset_specs, check_specs

    warnings.simplefilter("ignore", dg.BetaWarning)
    warnings.simplefilter("ignore", dg.PreviewWarning)
    out: dict[str, Any] = {"n": n, "seed": seed, "repeat": repeat, "target_s": TARGET_S}
    out["generate_s"], synthetic = timed(lambda: generate_project(root / "project", n, seed=seed))
    project = load_project(synthetic.project_file)
    out["compile_cold_s"], plan = timed(lambda: compile_plan(project, cache=False))
    _populate, _ = timed(lambda: compile_plan(project, cache=True))
    out["compile_warm_s"], _cpu, plan = best_of(
        repeat, lambda: compile_plan(project, cache=True), collect_garbage=True
    )
    out["views"] = len(plan.tasks)
    out["admitted"] = len(plan.admitted)

    component = CpgComponent(project=synthetic.project_file)
    state = root / "state"
    out["write_state_s"], _ = timed(lambda: component.write_state_to_path(state))
    out["state_bytes"] = state.stat().st_size

    # The parts, each on its own.
    out["restore_s"], _cpu, restored = best_of(
        repeat, lambda: read_plan_file(state).plan(project), collect_garbage=True
    )
    translator = component.get_translator()

    def specs() -> tuple[list[dg.AssetSpec], list[dg.AssetCheckSpec]]:
        fresh = type(translator)(key_prefix=translator.key_prefix)  # no memo from a previous call
        return asset_specs(restored, fresh), check_specs(restored, fresh)

    out["specs_s"], out["specs_cpu_s"], (assets, checks) = best_of(
        repeat, specs, collect_garbage=True
    )
    out["asset_specs"], out["check_specs"] = len(assets), len(checks)

    def definitions() -> Any:
        fresh = type(translator)(key_prefix=translator.key_prefix)
        defs = cpg_definitions(
            restored, project=project, translator=fresh, resource=component.get_resource(project)
        )
        return defs.get_repository_def()

    out["definitions_s"], out["definitions_cpu_s"], repository = best_of(
        repeat, definitions, collect_garbage=True
    )
    out["assets_in_repository"] = len(repository.asset_graph.get_all_asset_keys())

    # The headline: the real component load path (defs.yaml -> state -> Definitions -> repository).
    with create_defs_folder_sandbox() as sandbox:
        path = sandbox.defs_folder_path / "synthetic"
        path.mkdir()
        (path / "defs.yaml").write_text(
            f"type: cpg_dagster.component.CpgComponent\n"
            f"attributes:\n  project: {synthetic.project_file}\n",
            encoding="utf-8",
        )
        with sandbox.build_component_tree() as tree:
            loaded = tree.load_component(path)
            assert isinstance(loaded, CpgComponent)
            asyncio.run(loaded.refresh_state(sandbox.project_root))

        def load() -> Any:
            with sandbox.build_component_tree() as tree:
                return tree.build_defs().get_repository_def()

        out["load_s"], out["load_cpu_s"], repository = best_of(repeat, load, collect_garbage=True)
        out["load_assets"] = len(repository.asset_graph.get_all_asset_keys())
    out["pass"] = out["load_s"] <= TARGET_S
    out["load_avg_1m"] = load_1min()  # other work on the machine while measuring
    return out


def _report(result: dict[str, Any]) -> str:
    r = result
    return "\n".join(
        [
            f"views: {r['views']} ({r['admitted']} admitted); specs: {r['asset_specs']} assets, "
            f"{r['check_specs']} checks; state file {r['state_bytes'] / 1e6:.1f} MB",
            f"machine load average (1 min) at the end: {r['load_avg_1m']:.1f}",
            f"compile (not part of a load): cold {r['compile_cold_s']:.2f} s, "
            f"warm {r['compile_warm_s']:.2f} s; write state {r['write_state_s']:.2f} s",
            f"restore plan from state: {r['restore_s']:.3f} s",
            f"asset + check specs:     {r['specs_s']:.3f} s (cpu {r['specs_cpu_s']:.3f} s)",
            f"cpg_definitions + repository: {r['definitions_s']:.3f} s "
            f"(cpu {r['definitions_cpu_s']:.3f} s)",
            f"{verdict(r['pass'])} component load (defs.yaml -> repository, {r['load_assets']} assets): "
            f"{r['load_s']:.2f} s, cpu {r['load_cpu_s']:.2f} s (target <= {r['target_s']:.0f} s)",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--n", type=int, default=1000, help="number of views (default 1000)")
    add_seed(parser)
    add_repeats(parser, 3, help="best of this many loads")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cpg-bench-dagster-") as tmp:
        result = run(args.n, Path(tmp), seed=args.seed, repeat=args.repeats)
    emit(result, as_json=args.json, render=_report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
