"""The graph drawing of lesson 02 in dlcourse.plotting: the layout and what lands on the axes."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import FancyArrowPatch, Rectangle  # noqa: E402

from dlcourse.plotting import GRAPH_BOX, draw_graph, layered_layout  # noqa: E402


class Node:
    def __init__(self, name, *parents):
        self.name, self.parents = name, parents


def diamond():
    # x feeds a and b twice over (once each), and both feed y: y = a(x) + b(x, x)
    x = Node("x")
    a, b = Node("a", x), Node("b", x, x)
    return x, a, b, Node("y", a, b)


def test_layered_layout_puts_each_node_right_of_its_deepest_input():
    x, a, b, y = diamond()
    nodes, edges = layered_layout(y, lambda n: n.parents, lambda n: n.name, spacing=(3.0, 2.0))
    assert nodes[id(x)] == (0.0, 0.0, "x")
    assert nodes[id(y)] == (6.0, 0.0, "y")
    assert {nodes[id(a)][:2], nodes[id(b)][:2]} == {(3.0, 1.0), (3.0, -1.0)}
    # one edge per use of an input, so b's two uses of x are two edges
    assert sorted(edges) == sorted([(id(x), id(a)), (id(x), id(b)), (id(x), id(b)),
                                    (id(a), id(y)), (id(b), id(y))])


def test_layered_layout_keeps_equal_looking_nodes_apart():
    left, right = Node("same"), Node("same")
    nodes, _ = layered_layout(Node("root", left, right), lambda n: n.parents, lambda n: n.name)
    assert len(nodes) == 3


@pytest.mark.parametrize("reverse", [False, True])
def test_draw_graph_draws_a_box_per_node_and_an_arrow_per_edge(reverse):
    nodes = {"x": (0.0, 0.0, "x"), "y": (4.0, 0.0, "y = f(x)")}
    fig, ax = plt.subplots()
    assert draw_graph(ax, nodes, [("x", "y")], title="t", reverse=reverse,
                      colors={"x": "#ff0000"}) is ax
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == 2
    assert boxes[0].get_facecolor()[:3] == (1.0, 0.0, 0.0)
    assert [t.get_text() for t in ax.texts if t.get_text()] == ["x", "y = f(x)"]
    (arrow,) = [a for a in ax.texts if isinstance(getattr(a, "arrow_patch", None), FancyArrowPatch)]
    tail, head = arrow.xyann, arrow.xy
    # the arrow runs between the boxes' edges, and against the edge for the backward pass
    edge = GRAPH_BOX[0] / 2
    assert (tail, head) == (((edge, 0.0), (4.0 - edge, 0.0)) if not reverse
                            else ((4.0 - edge, 0.0), (edge, 0.0)))
    assert ax.get_title() == "t"
    plt.close(fig)
