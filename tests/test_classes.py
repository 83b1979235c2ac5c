"""dlcourse.classes.add_to_class, which lesson 02 uses to build its autodiff engine cell by cell."""

from __future__ import annotations

from dlcourse.classes import add_to_class


class Counter:
    __slots__ = ("count",)  # a class with slots takes new methods too: they live on the class

    def __init__(self):
        self.count = 0


def test_a_method_added_later_reaches_objects_made_before():
    early = Counter()

    @add_to_class(Counter)
    def increment(self, by=1):
        self.count += by
        return self

    assert early.increment(2).count == 2
    assert Counter().increment().count == 1
    assert increment.__name__ == "increment"


def test_an_operator_added_later_is_used_by_python():
    @add_to_class(Counter)
    def __add__(self, other):
        total = Counter()
        total.count = self.count + other.count
        return total

    a, b = Counter(), Counter()
    a.count, b.count = 2, 3
    assert (a + b).count == 5
