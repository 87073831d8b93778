"""Tests of bplib.autodiff: the scalar Value against the array functions,
numerical gradients, repeated backward, deep graphs and graph drawing."""

import math
import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from bplib import functional as F  # noqa: E402
from bplib import models  # noqa: E402
from bplib.autodiff import Value, draw_graph, topological_order  # noqa: E402
from bplib.gradcheck import numerical_gradient  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def values(array, prefix):
    return [Value(v, label=f"{prefix}{i}") for i, v in enumerate(array)]


def grads(vs):
    return np.array([v.grad for v in vs])


# --------------------------------------------------------------------------
# Value agrees with the array functions on the lessons' computations
# --------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_relu_neuron_agrees_with_models(seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(3), rng.standard_normal(3)
    b = float(rng.standard_normal())
    xs, ws, bv = values(x, "x"), values(w, "w"), Value(b, label="b")
    out = sum((xi * wi for xi, wi in zip(xs, ws)), bv).relu()
    out.backward()
    assert out.data == pytest.approx(models.neuron_forward(x, w, b), rel=1e-14)
    dx, dw, db = models.neuron_backward(x, w, b, 1.0)
    np.testing.assert_allclose(grads(xs), dx, rtol=1e-14)
    np.testing.assert_allclose(grads(ws), dw, rtol=1e-14)
    assert bv.grad == pytest.approx(db, rel=1e-14)


def test_chapter_neuron():
    xs, ws = values([1.0, -2.0, 3.0], "x"), values([-3.0, -1.0, 2.0], "w")
    b = Value(1.0, label="b")
    y = (xs[0] * ws[0] + xs[1] * ws[1] + xs[2] * ws[2] + b).relu()
    y.backward()
    assert y.data == 6.0
    np.testing.assert_array_equal(grads(ws), [1.0, -2.0, 3.0])
    np.testing.assert_array_equal(grads(xs), [-3.0, -1.0, 2.0])
    assert b.grad == 1.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tanh_unit_agrees_with_functional_and_numerical(seed):
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(4), rng.standard_normal(4)
    b = float(rng.standard_normal())
    xs, ws, bv = values(x, "x"), values(w, "w"), Value(b, label="b")
    out = sum((xi * wi for xi, wi in zip(xs, ws)), bv).tanh()
    out.backward()
    # The same unit as a 1-sample dense layer followed by tanh.
    X, W, bb = x[None, :], w[:, None], np.array([b])
    Z = F.dense(X, W, bb)
    assert out.data == pytest.approx(F.tanh(Z)[0, 0], rel=1e-14)
    dZ = F.tanh_backward(Z, np.ones_like(Z))
    dX, dW, db = F.dense_backward(X, W, bb, dZ)
    np.testing.assert_allclose(grads(xs), dX[0], rtol=1e-13)
    np.testing.assert_allclose(grads(ws), dW[:, 0], rtol=1e-13)
    assert bv.grad == pytest.approx(db[0], rel=1e-13)
    num = numerical_gradient(lambda v: np.tanh(v[:4] @ v[4:8] + v[8]),
                             np.concatenate([x, w, [b]]))
    np.testing.assert_allclose(np.concatenate([grads(xs), grads(ws), [bv.grad]]),
                               num, rtol=1e-6, atol=1e-10)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_one_one_one_sigmoid_net_with_squared_error(seed):
    rng = np.random.default_rng(seed)
    x, t = float(rng.standard_normal()), float(rng.uniform())
    p = rng.standard_normal(4)  # w1, b1, w2, b2
    w1, b1, w2, b2 = (Value(v, label=n) for v, n in zip(p, ["w1", "b1", "w2", "b2"]))
    h = (w1 * x + b1).sigmoid()
    y = (w2 * h + b2).sigmoid()
    loss = (y - t) ** 2
    loss.backward()
    got = np.array([w1.grad, b1.grad, w2.grad, b2.grad])

    def forward(p):
        z1 = F.dense(np.array([[x]]), p[0:1, None], p[1:2])
        a1 = F.sigmoid(z1)
        z2 = F.dense(a1, p[2:3, None], p[3:4])
        return z1, a1, z2, F.sigmoid(z2)

    z1, a1, z2, a2 = forward(p)
    mse, da2 = F.mse_loss(a2, np.array([[t]]))
    assert loss.data == pytest.approx(mse, rel=1e-13)
    dz2 = F.sigmoid_backward(z2, da2)
    da1, dw2, db2 = F.dense_backward(a1, p[2:3, None], p[3:4], dz2)
    dz1 = F.sigmoid_backward(z1, da1)
    _, dw1, db1 = F.dense_backward(np.array([[x]]), p[0:1, None], p[1:2], dz1)
    expected = np.array([dw1[0, 0], db1[0], dw2[0, 0], db2[0]])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    num = numerical_gradient(
        lambda q: F.mse_loss(forward(q)[3], np.array([[t]]))[0], p)
    np.testing.assert_allclose(got, num, rtol=1e-6, atol=1e-10)


# --------------------------------------------------------------------------
# Operations and their local derivatives
# --------------------------------------------------------------------------

OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "div": (lambda a, b: a / b, lambda a, b: a / b),
    "pow": (lambda a, b: a ** 3 * b, lambda a, b: a ** 3 * b),
    "neg_pow": (lambda a, b: (a * a + 1.0) ** -0.5 + b,
                lambda a, b: (a * a + 1.0) ** -0.5 + b),
    "exp": (lambda a, b: (a * b).exp(), lambda a, b: math.exp(a * b)),
    "tanh": (lambda a, b: (a - b).tanh(), lambda a, b: math.tanh(a - b)),
    "sigmoid": (lambda a, b: (a / b).sigmoid(), lambda a, b: 1 / (1 + math.exp(-a / b))),
    "relu": (lambda a, b: (a * b).relu() + (a - 3 * b).relu(),
             lambda a, b: max(a * b, 0) + max(a - 3 * b, 0)),
    "constants": (lambda a, b: 2.0 - a / 3.0 + 1.5 * b - (4.0 / b),
                  lambda a, b: 2.0 - a / 3.0 + 1.5 * b - (4.0 / b)),
    "reuse": (lambda a, b: a * a * b + a, lambda a, b: a * a * b + a),
}


@pytest.mark.parametrize("name", list(OPS))
@pytest.mark.parametrize("point", [(0.7, -1.3), (-0.4, 2.1)])
def test_operation_gradients_match_numerical(name, point):
    build, plain = OPS[name]
    a, b = Value(point[0], label="a"), Value(point[1], label="b")
    out = build(a, b)
    out.backward()
    assert out.data == pytest.approx(plain(*point), rel=1e-14)
    num = numerical_gradient(lambda v: plain(float(v[0]), float(v[1])),
                             np.array(point))
    np.testing.assert_allclose([a.grad, b.grad], num, rtol=1e-7, atol=1e-9)


def test_pow_needs_a_constant_exponent():
    with pytest.raises(TypeError, match="^only a constant int or float exponent is supported$"):
        Value(2.0) ** Value(3.0)
    with pytest.raises(TypeError, match="only a constant int or float exponent"):
        Value(2.0) ** np.array([1.0, 2.0])


def test_data_is_stored_as_a_python_float():
    """Value(np.int64(10)) ** 20 would overflow int64 (and numpy's scalars
    carry into math.exp and repr their own way): data is a float."""
    for x in (3, np.int64(10), np.float32(0.1), True):
        assert type(Value(x).data) is float
    assert (Value(np.int64(10)) ** 20).data == 1e20
    assert Value(np.float32(0.5)).data == 0.5


def test_relu_slope_at_zero_is_zero_like_functional():
    for z in (0.0, -0.0):
        v = Value(z)
        v.relu().backward()
        assert v.grad == F.relu_backward(np.array(z), 1.0) == 0.0


def test_sigmoid_does_not_overflow():
    lo, hi = Value(-1000.0).sigmoid(), Value(1000.0).sigmoid()
    assert (lo.data, hi.data) == (0.0, 1.0)
    lo.backward()
    assert lo.children[0].grad == 0.0


# --------------------------------------------------------------------------
# Reverse mode
# --------------------------------------------------------------------------

def test_backward_twice_gives_the_same_gradients():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b + a
    d = (c * c).tanh() + c
    d.backward()
    first = (a.grad, b.grad, c.grad)
    d.backward()
    assert (a.grad, b.grad, c.grad) == first
    # c = a b + a = -4 and d = tanh(c**2) + c, so dd/dc = 2c (1 - tanh(c**2)**2) + 1.
    assert first[2] == pytest.approx(2 * -4.0 * (1 - math.tanh(16.0) ** 2) + 1.0)
    assert first[0] == pytest.approx(first[2] * (-3.0 + 1.0))


def test_a_value_used_twice_gets_both_gradients():
    a = Value(3.0)
    (a + a).backward()
    assert a.grad == 2.0
    b = Value(3.0)
    (b * b).backward()
    assert b.grad == 6.0


def test_gradients_add_up_over_paths():
    """Lesson 2's point: a = 3 reaches (a + 1) * a along two paths, and
    d/da = (a + 1) + a = 7, not 3 (the last path's gradient alone)."""
    a = Value(3.0)
    ((a + 1.0) * a).backward()
    assert a.grad == 7.0


ACCUMULATE = {  # op(a), its derivative at a; each used as op(a) * a
    "add (left)": (lambda a: a + 2.0, lambda x: 1.0),
    "add (right)": (lambda a: 2.0 + a, lambda x: 1.0),
    "mul (left)": (lambda a: a * 2.0, lambda x: 2.0),
    "mul (right)": (lambda a: 2.0 * a, lambda x: 2.0),
    "pow": (lambda a: a ** 3, lambda x: 3 * x ** 2),
    "exp": (lambda a: a.exp(), math.exp),
    "tanh": (lambda a: a.tanh(), lambda x: 1 - math.tanh(x) ** 2),
    "relu": (lambda a: a.relu(), lambda x: float(x > 0)),
    "sigmoid": (lambda a: a.sigmoid(), lambda x: math.exp(-x) / (1 + math.exp(-x)) ** 2),
}


@pytest.mark.parametrize("name", list(ACCUMULATE))
def test_every_operation_adds_its_gradient_to_its_inputs(name):
    """In g(a) = op(a) * a, the product's backward runs first and gives a the
    gradient op(a); op's backward must add op'(a) * a to it, not replace it."""
    op, slope = ACCUMULATE[name]
    x = 0.7
    a = Value(x)
    out = op(a) * a
    out.backward()
    assert a.grad == pytest.approx(op(Value(x)).data + slope(x) * x, rel=1e-14)


def test_deep_chain_does_not_hit_the_recursion_limit():
    n = 5 * sys.getrecursionlimit()
    x = Value(1.0, label="x")
    y = x
    for _ in range(n):
        y = y + 1.0
    y.backward()
    assert y.data == n + 1
    assert x.grad == 1.0
    z = x
    for _ in range(n):
        z = z * 1.0001
    z.backward()
    assert x.grad == pytest.approx(1.0001 ** n, rel=1e-9)


def test_topological_order_puts_children_first():
    a, b = Value(1.0), Value(2.0)
    c = a * b
    d = c + a
    e = d * c
    order = topological_order(e)
    assert len(order) == len({id(v) for v in order}) == 5
    position = {id(v): i for i, v in enumerate(order)}
    for node in order:
        for child in node.children:
            assert position[id(child)] < position[id(node)]
    assert order[-1] is e


def test_repr_shows_label_data_and_grad():
    v = Value(1.5, label="w")
    assert repr(v) == "Value(w=1.5, grad=0)"
    assert Value(2.0).label == "" and repr(Value(2.0)) == "Value(2, grad=0)"


def test_each_operation_names_itself_for_the_drawing():
    a, b = Value(2.0), Value(3.0)
    ops = [(a + b).op, (a * b).op, (a ** 3).op, (a ** -0.5).op, a.exp().op, a.tanh().op,
           a.relu().op, a.sigmoid().op]
    assert ops == ["+", "*", "**3", "**-0.5", "exp", "tanh", "relu", "sigmoid"]
    assert (a.op, a.children, a.label) == ("", (), "")


def test_constants_on_either_side():
    a = Value(0.7)
    assert (2.0 + a).data == pytest.approx(2.7, rel=1e-15)
    assert (2.0 * a).data == pytest.approx(1.4, rel=1e-15)
    assert (2.0 - a).data == pytest.approx(1.3, rel=1e-15)
    assert (2.0 / a).data == pytest.approx(2.0 / 0.7, rel=1e-15)
    assert sum([a, a, a]).data == pytest.approx(2.1, rel=1e-15)  # 0 + a, via __radd__


def test_negation_is_one_multiplication_by_minus_one():
    a = Value(0.7)
    neg = -a
    assert neg.op == "*" and neg.data == -0.7
    assert len(topological_order(neg)) == 3  # a, the constant -1 and the product


# --------------------------------------------------------------------------
# Drawing
# --------------------------------------------------------------------------

def test_draw_graph_returns_axes_and_labels_nodes():
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.3, label="b")
    y = (x * w + b).tanh()
    y.label = "y"
    y.backward()
    ax = draw_graph(y)
    assert isinstance(ax, plt.Axes)
    texts = [t.get_text() for t in ax.texts]
    for name in ("x", "w", "b", "y"):
        assert any(t.startswith(f"{name} | ") for t in texts), name
    for op in ("*", "+", "tanh"):
        assert op in texts
    assert any(f"grad {x.grad:.4g}" in t for t in texts)
    assert ax.get_title() == "Computational graph: forward values and gradients"
    # One box per value (x, w, b, x*w, x*w + b, y), one circle per operation,
    # and arrows (empty annotations): op -> result, and input -> op.
    assert len([t for t in texts if t]) == 6 + 3
    assert len([t for t in texts if not t]) == 3 + (2 + 2 + 1)


def test_draw_graph_on_given_axes_with_title():
    _, ax = plt.subplots()
    a = Value(1.0, label="a")
    out = draw_graph(a * 2.0, ax=ax, title="tiny")
    assert out is ax
    assert ax.get_title() == "tiny"


def _box_positions(ax):
    """(label, x, y) of every value box drawn, by its label."""
    return {t.get_text().split(" | ")[0]: t.get_position() for t in ax.texts
            if " | " in t.get_text()}


def test_draw_graph_puts_leaves_in_column_0_and_each_result_one_column_right():
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.3, label="b")
    xw = x * w
    xw.label = "xw"
    s = xw + b
    s.label = "s"
    y = s.tanh()
    y.label = "y"
    ax = draw_graph(y)
    pos = _box_positions(ax)
    assert {k: p[0] for k, p in pos.items()} == {
        "x": 0.0, "w": 0.0, "b": 0.0, "xw": 3.0, "s": 6.0, "y": 9.0}
    assert ax.get_xlim() == (-1.7, 10.0)


def test_draw_graph_sizes_its_figure_by_columns_and_rows():
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.3, label="b")
    ax = draw_graph((x * w + b).tanh())  # 4 columns, at most 3 rows
    np.testing.assert_allclose(ax.figure.get_size_inches(), [2.6 * 4 + 1, 1.2 * 3 + 1])
    y = x
    for _ in range(9):
        y = y * 1.5
    # 10 columns, squeezed to a notebook page's width; x and the 9 constants in column 0
    ax = draw_graph(y)
    np.testing.assert_allclose(ax.figure.get_size_inches(), [16, 1.2 * 10 + 1])


def test_draw_graph_centres_each_column_on_zero():
    x, w, b = Value(2.0, label="x"), Value(-0.5, label="w"), Value(0.3, label="b")
    xw = x * w
    xw.label = "xw"
    s = xw + b
    s.label = "s"
    pos = _box_positions(draw_graph(s))
    assert sorted(pos[k][1] for k in ("x", "w", "b")) == [-1.0, 0.0, 1.0]
    assert pos["xw"][1] == pos["s"][1] == 0.0
    pos = _box_positions(draw_graph(x * w))  # two leaves: rows at +-0.5
    assert sorted(pos[k][1] for k in ("x", "w")) == [-0.5, 0.5]
