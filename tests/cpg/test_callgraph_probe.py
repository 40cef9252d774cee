"""The call graph on the probe programs: a floor, so a change that loses ground fails here.

tests/fixtures/callgraph_probe/ holds 54 programs written after the analysis, from the issue's
list of idioms, by someone who had not written it (`bench_callgraph --programs` scores them and
docs/cpg_schema.md lists what they still miss). Unlike the fixtures, cpg need not pass them
exactly: the floor is the precision and recall measured when they were added, so a rule that
starts guessing wrong or stops finding edges shows up, and a rule that gains lifts the floor.
"""

from __future__ import annotations

from tests.cpg.build import build_cpg, builtin_plan
from tests.cpg.callgraph import PROBES, call_pairs, fixture_names, projected_edges, read_truth

MIN_PRECISION = 0.98  # measured: 455 of 464 edges
MIN_RECALL = 0.945  # measured: 455 of 481 expected


def test_the_probe_programs_keep_their_precision_and_recall() -> None:
    plan = builtin_plan()
    hits = got = expected = 0
    for name in fixture_names(PROBES):
        program = PROBES / name
        truth = read_truth(program / "expected.txt")
        build = build_cpg(program, plan=plan)
        pairs = call_pairs(projected_edges(build.outputs["cpg_nodes"], build.outputs["cpg_edges"]))
        hits += len(pairs & truth)
        got += len(pairs)
        expected += len(truth)
    assert expected == 481, "the probe programs changed: measure them again"
    precision, recall = hits / got, hits / expected
    assert precision >= MIN_PRECISION, f"precision {precision:.3f} ({hits} of {got})"
    assert recall >= MIN_RECALL, f"recall {recall:.3f} ({hits} of {expected})"
