"""The call graph on the probe programs: a floor, so a change that loses ground fails here.

tests/fixtures/callgraph_probe/ holds 54 programs written after the analysis, from the issue's
list of idioms, by someone who had not written it (`bench_callgraph --programs` scores them and
docs/cpg_schema.md lists what they still miss). Unlike the fixtures, cpg need not pass them
exactly: the floor is the edges found and the wrong ones as last measured (all 54: 455 of 481
found, 9 wrong, precision 0.981, recall 0.946), so a rule that starts guessing wrong or stops
finding edges shows up, and a rule that gains lifts the floor.
"""

from __future__ import annotations

import os

from tests.cpg.build import build_cpg, builtin_plan
from tests.cpg.callgraph import PROBES, call_pairs, fixture_names, projected_edges, read_truth

# every program with CPG_PROBE_ALL=1 (~3 min: a CPG build each); CI builds every other one
ALL = os.environ.get("CPG_PROBE_ALL") == "1"
# (expected edges, found, wrong) as measured: found may rise and wrong may fall, never the other way
MEASURED = (481, 455, 9) if ALL else (224, 208, 3)


def test_the_probe_programs_keep_their_precision_and_recall() -> None:
    plan = builtin_plan()
    names = fixture_names(PROBES)
    hits = got = expected = 0
    for name in names if ALL else names[::2]:
        program = PROBES / name
        truth = read_truth(program / "expected.txt")
        build = build_cpg(program, plan=plan)
        pairs = call_pairs(projected_edges(build.outputs["cpg_nodes"], build.outputs["cpg_edges"]))
        hits += len(pairs & truth)
        got += len(pairs)
        expected += len(truth)
    measured_expected, measured_hits, measured_wrong = MEASURED
    assert expected == measured_expected, "the probe programs changed: measure them again"
    assert hits >= measured_hits, f"recall {hits / expected:.3f} ({hits} of {expected})"
    assert got - hits <= measured_wrong, f"precision {hits / got:.3f} ({hits} of {got})"
