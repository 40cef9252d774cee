"""`InOrder` releases items in the given order whatever order they arrive in."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cpg_core.execute.in_order import InOrder


def test_an_early_item_waits_for_everything_before_it() -> None:
    order: InOrder[str] = InOrder(["a", "b", "c"])
    assert order.add("c", "C") == []
    assert order.add("a", "A") == ["A"]
    assert order.add("b", "B") == ["B", "C"]
    assert order.rest() == []


def test_skipped_names_are_not_waited_for_and_rest_flushes_in_order() -> None:
    order: InOrder[str] = InOrder(["a", "b", "c", "d"])
    assert order.add("d", "D") == []
    assert order.add("b", "B") == []
    assert order.skip(["a"]) == ["B"]
    assert order.rest() == ["D"]  # c never came (a failed run): d is still reported


def test_a_name_outside_the_order_is_an_error() -> None:
    with pytest.raises(KeyError, match="'x' is not in the release order"):
        InOrder[str](["a"]).add("x", "X")


@given(st.permutations(list("abcdefgh")), st.sets(st.sampled_from(list("abcdefgh"))))
def test_release_order_is_the_given_order(arrival: list[str], missing: set[str]) -> None:
    names = list("abcdefgh")
    order: InOrder[str] = InOrder(names)
    released: list[str] = []
    for name in arrival:
        if name not in missing:
            released += order.add(name, name)
    released += order.rest()
    assert released == [n for n in names if n not in missing]
