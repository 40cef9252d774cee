"""Property tests of the schedule over random DAGs (hypothesis)."""

from __future__ import annotations

import itertools
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from cpg_core.plan.schedule import compute_schedule


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[str], list[tuple[str, str]], dict[str, float]]:
    n = draw(st.integers(min_value=1, max_value=14))
    names = [f"t{i:02d}" for i in range(n)]
    edges = [
        (names[i], names[j])
        for i, j in itertools.combinations(range(n), 2)
        if draw(st.booleans()) and draw(st.booleans())
    ]
    costs = {name: draw(st.sampled_from([0.5, 1.0, 2.0, 3.25, 7.0, 0.001])) for name in names}
    return names, edges, costs


def _all_paths_longest(
    names: list[str], edges: list[tuple[str, str]], costs: dict[str, float]
) -> float:
    """Brute force: the heaviest path over every simple path of the DAG."""
    succ: dict[str, list[str]] = {n: [] for n in names}
    for u, v in edges:
        succ[u].append(v)

    def walk(node: str) -> float:
        return costs[node] + max((walk(s) for s in succ[node]), default=0.0)

    return max(walk(n) for n in names)


@settings(max_examples=200, deadline=None)
@given(dags())
def test_order_respects_every_dependency(
    dag: tuple[list[str], list[tuple[str, str]], dict[str, float]],
) -> None:
    names, edges, costs = dag
    schedule = compute_schedule(names, edges, costs)
    position = {name: i for i, name in enumerate(schedule.order)}
    assert sorted(schedule.order) == sorted(names)
    assert all(position[u] < position[v] for u, v in edges)
    generation = schedule.generation_of()
    assert all(generation[u] < generation[v] for u, v in edges)


@settings(max_examples=200, deadline=None)
@given(dags())
def test_critical_path_is_the_longest_path_and_slack_is_zero_on_it(
    dag: tuple[list[str], list[tuple[str, str]], dict[str, float]],
) -> None:
    names, edges, costs = dag
    schedule = compute_schedule(names, edges, costs)
    assert abs(schedule.critical_path_length - _all_paths_longest(names, edges, costs)) < 1e-6
    assert abs(sum(costs[n] for n in schedule.critical_path) - schedule.critical_path_length) < 1e-6
    edge_set = set(edges)
    assert all(pair in edge_set for pair in itertools.pairwise(schedule.critical_path))
    assert all(slack >= 0 for slack in schedule.slack.values())
    assert all(schedule.slack[n] == 0 for n in schedule.critical_path)


@settings(max_examples=100, deadline=None)
@given(dags(), st.randoms(use_true_random=False))
def test_schedule_is_identical_under_shuffled_input(
    dag: tuple[list[str], list[tuple[str, str]], dict[str, float]], rnd: random.Random
) -> None:
    names, edges, costs = dag
    first = compute_schedule(names, edges, costs)
    shuffled_names, shuffled_edges = names[:], edges[:]
    rnd.shuffle(shuffled_names)
    rnd.shuffle(shuffled_edges)
    second = compute_schedule(shuffled_names, shuffled_edges, dict(reversed(list(costs.items()))))
    assert first == second


@settings(max_examples=100, deadline=None)
@given(dags())
def test_ready_tasks_run_sinks_first_then_by_bottom_level_then_slack_then_name(
    dag: tuple[list[str], list[tuple[str, str]], dict[str, float]],
) -> None:
    names, edges, costs = dag
    schedule = compute_schedule(names, edges, costs)
    preds = {n: {u for u, v in edges if v == n} for n in names}
    read = {u for u, _ in edges}
    assert set(schedule.sinks) == set(names) - read
    done: set[str] = set()
    for name in schedule.order:
        ready = [n for n in names if n not in done and preds[n] <= done]
        best = min(
            ready,
            key=lambda n: (n in read, -schedule.bottom_level[n], schedule.slack[n], n),
        )
        assert name == best
        done.add(name)


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_critical_path_names_no_hidden_task_and_keeps_its_length(
    dag: tuple[list[str], list[tuple[str, str]], dict[str, float]], data: st.DataObject
) -> None:
    """Hidden tasks (inline views, cost 0: folded into their readers) never appear on the
    critical path; what remains is an upstream→downstream chain as long as the whole path."""
    names, edges, costs = dag
    hidden = set(data.draw(st.lists(st.sampled_from(names), unique=True)))
    costs = {n: 0.0 if n in hidden else c for n, c in costs.items()}
    schedule = compute_schedule(names, edges, costs, hidden=hidden)
    assert not hidden & set(schedule.critical_path)
    assert abs(schedule.critical_path_length - _all_paths_longest(names, edges, costs)) < 1e-6
    assert abs(sum(costs[n] for n in schedule.critical_path) - schedule.critical_path_length) < 1e-6
    succ: dict[str, set[str]] = {n: set() for n in names}
    for u, v in edges:
        succ[u].add(v)

    def reaches(u: str, v: str) -> bool:
        return v in succ[u] or any(reaches(w, v) for w in succ[u])

    assert all(reaches(u, v) for u, v in itertools.pairwise(schedule.critical_path))
