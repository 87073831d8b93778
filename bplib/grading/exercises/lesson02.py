"""Lesson 2, computational graphs: build the autodiff yourself, a class Value.

The student's object is a class, not a function of arrays, so a trial is an
expression graph written as data (leaves and operations); ``drive_value``
builds it with the student's class, calls backward on the result and records
every node's .data and .grad as plain floats.
"""

import functools
import gc
import math

import numpy as np

from bplib.autodiff import topological_order
from bplib.grading.exercises.common import Exercise, Requirement, Trial


class Value:
    """A scalar in a computational graph, with its gradient (the reference answer)."""

    def __init__(self, data, children=()):
        self.data = float(data)
        self.grad = 0.0
        self.children = tuple(children)
        self._backward = lambda: None

    def _new(self, data, children, backward):
        out = type(self)(data, children)
        out._backward = lambda: backward(out)
        return out

    def _wrap(self, other):
        return other if isinstance(other, Value) else type(self)(other)

    def __add__(self, other):
        other = self._wrap(other)

        def backward(out):
            self.grad += out.grad
            other.grad += out.grad
        return self._new(self.data + other.data, (self, other), backward)

    def __mul__(self, other):
        other = self._wrap(other)

        def backward(out):
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        return self._new(self.data * other.data, (self, other), backward)

    def __pow__(self, k):
        def backward(out):
            self.grad += k * self.data ** (k - 1) * out.grad
        return self._new(self.data ** k, (self,), backward)

    def exp(self):
        def backward(out):
            self.grad += out.data * out.grad
        return self._new(math.exp(self.data), (self,), backward)

    def tanh(self):
        def backward(out):
            self.grad += (1.0 - out.data ** 2) * out.grad
        return self._new(math.tanh(self.data), (self,), backward)

    def relu(self):
        def backward(out):
            self.grad += (self.data > 0) * out.grad
        return self._new(max(self.data, 0.0), (self,), backward)

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-other)

    def __truediv__(self, other):
        return self * self._wrap(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._wrap(other) - self

    def __rtruediv__(self, other):
        return self._wrap(other) / self

    def backward(self):
        """d(self)/d(node) into every node's grad, in reverse topological order.

        The order comes from bplib.autodiff's explicit stack, not recursion, so a
        graph thousands of nodes deep is fine.
        """
        order = topological_order(self)
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


# --------------------------------------------------------------------------
# Graphs as data, and building them with a class
# --------------------------------------------------------------------------

# (kind, how to apply it to operands): "v" a node, "c" a plain number
_OPERATIONS = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
    "/": lambda a, b: a / b, "**": lambda a, k: a ** k, "neg": lambda a: -a,
    "tanh": lambda a: a.tanh(), "exp": lambda a: a.exp(), "relu": lambda a: a.relu(),
}


def _operand(x):
    return f"v{x[1]}" if isinstance(x, tuple) else repr(x)


def _describe(op):
    kind, operands = op[0], [_operand(x) for x in op[1:]]
    if kind in ("tanh", "exp", "relu"):
        return f"{operands[0]}.{kind}()"
    if kind == "neg":
        return f"-{operands[0]}"
    return f"{operands[0]} {kind} {operands[1]}"


def program(leaves, ops):
    """A graph as data a student can read: leaves and lines "v3 = v0 * 2.5"."""
    return (list(leaves), "\n".join(f"v{len(leaves) + k} = {_describe(op)}"
                                     for k, op in enumerate(ops)))


def parse(graph):
    """(leaves, ops) of a ``program``: ops as (kind, operand, ...) with an operand
    ("v", index) for a node, or a plain number."""
    leaves, text = graph
    return leaves, _parse_lines(text)


@functools.lru_cache(maxsize=64)
def _parse_lines(text):
    def operand(token):
        if token.startswith("v"):
            return ("v", int(token[1:]))
        return int(token) if token.lstrip("-").isdigit() else float(token)

    ops = []
    for line in text.splitlines():
        expr = line.split(" = ", 1)[1]
        if expr.endswith("()"):
            node, kind = expr[:-2].split(".")
            ops.append((kind, operand(node)))
        elif expr.startswith("-v"):
            ops.append(("neg", operand(expr[1:])))
        else:
            a, kind, b = expr.split(" ")
            ops.append((kind, operand(a), operand(b)))
    return tuple(ops)


def drive_value(value_class, graph):
    """Build ``graph`` with ``value_class``, call backward on its last node, and
    return (data, grads): float arrays over every node, in creation order.

    graph = (leaves, program): leaves are numbers, the program has one line
    per operation ("v3 = v0 * v1", "v4 = 2.0 - v3", "v5 = v4.tanh()").
    """
    leaves, ops = parse(graph)
    collecting = gc.isenabled()
    gc.disable()  # thousands of small cycles (node -> its backward -> node): collect once
    try:
        return _build_and_backward(value_class, leaves, ops)
    finally:
        if collecting:
            gc.enable()


def _build_and_backward(value_class, leaves, ops):
    nodes = []
    for x in leaves:
        node = value_class(x)
        if not isinstance(node.data, float):
            raise TypeError(f"Value({x!r}).data is {node.data!r} of type "
                            f"{type(node.data).__name__}: it must be a float (float(data))")
        if node.grad != 0.0:
            raise ValueError(f"Value({x!r}).grad is {node.grad!r} before backward: it must "
                             "start at 0.0")
        nodes.append(node)
    for op in ops:
        operands = [nodes[x[1]] if isinstance(x, tuple) else x for x in op[1:]]
        out = _OPERATIONS[op[0]](*operands)
        if not (isinstance(out, value_class) or hasattr(out, "data") and hasattr(out, "grad")):
            raise TypeError(f"v{len(nodes)} = {_describe(op)} returned "
                            f"{type(out).__name__}, not a Value")
        nodes.append(out)
    nodes[-1].backward()
    return (np.array([float(node.data) for node in nodes]),
            np.array([float(node.grad) for node in nodes]))


def evaluate(graph):
    """The node values of (leaves, ops) with plain floats (for making trials and tests)."""
    leaves, ops = graph
    values = [float(x) for x in leaves]
    plain = {"tanh": math.tanh, "exp": math.exp, "relu": lambda a: max(a, 0.0)}
    for op in ops:
        operands = [values[x[1]] if isinstance(x, tuple) else x for x in op[1:]]
        f = plain.get(op[0]) or _OPERATIONS[op[0]]
        values.append(float(f(*operands)))
    return values


# --------------------------------------------------------------------------
# Trials
# --------------------------------------------------------------------------

def _number(rng):
    return float(np.round(rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0]), 3))


def _random_graph(rng, n_leaves, n_ops):
    """A random graph whose nodes are reused (shared) and stay of moderate size."""
    leaves = [_number(rng) for _ in range(n_leaves)]
    values, ops, used = list(leaves), [], [False] * n_leaves
    kinds = ["+", "-", "*", "/", "**", "neg", "tanh", "exp", "relu"]
    while len(ops) < n_ops:
        # prefer nodes not used yet, so that most nodes reach the output
        pool = [i for i, u in enumerate(used) if not u] if rng.random() < 0.6 \
            else list(range(len(values)))
        i = int(rng.choice(pool))
        j = int(rng.integers(len(values)))
        kind = str(rng.choice(kinds))
        a = ("v", i)
        side = rng.random()
        if kind in ("+", "-", "*", "/"):
            if side < 0.5:
                op = (kind, a, ("v", j))
            elif side < 0.75:
                op = (kind, a, _number(rng))
            else:
                op = (kind, _number(rng), a)
            if kind == "/" and abs(values[op[2][1]] if isinstance(op[2], tuple) else op[2]) < 0.5:
                continue
        elif kind == "**":
            k = [2, 3, -1, 0.5, 1.5][int(rng.integers(5))]
            if (isinstance(k, float) and values[i] < 0.2) or (k == -1 and abs(values[i]) < 0.5):
                continue
            op = (kind, a, k)
        elif kind == "exp" and values[i] > 2.0:
            continue
        elif kind == "relu" and abs(values[i]) < 1e-6:
            continue
        else:
            op = (kind, a)
        value = evaluate((values, [op]))[-1]
        if not abs(value) < 20.0:
            continue
        for x in op[1:]:
            if isinstance(x, tuple):
                used[x[1]] = True
        ops.append(op)
        values.append(value)
        used.append(False)
    # the output: a sum of the nodes nobody used yet, so every node reaches it
    unused = [i for i, u in enumerate(used) if not u]
    out = unused[0]
    for i in unused[1:]:
        ops.append(("+", ("v", out), ("v", i)))
        out = len(leaves) + len(ops) - 1
    return program(leaves, ops)


def _every_operation(rng):
    """Each operation once, with numbers on either side; an integer leaf."""
    a, b, c = _number(rng), abs(_number(rng)) + 0.5, 2  # c: an int, stored as 2.0
    v = lambda i: ("v", i)  # noqa: E731
    ops = [("+", v(0), v(1)), ("-", v(3), v(2)), ("*", v(4), v(0)), ("/", v(5), v(1)),
           ("**", v(6), 2), ("**", v(1), 0.5), ("**", v(1), -1), ("neg", v(7)),
           ("+", v(10), 1.5), ("+", 2.0, v(11)), ("-", v(12), 0.5), ("-", 3.0, v(13)),
           ("*", v(14), -1.5), ("*", 0.5, v(15)), ("/", v(16), 4.0), ("/", 2.0, v(9)),
           ("tanh", v(17)), ("exp", v(19)), ("relu", v(18)), ("relu", v(3)),
           ("+", v(20), v(21)), ("+", v(23), v(22)), ("*", v(24), v(8))]
    return (a, b, c), ops


def _value_trials(rng):
    v = lambda i: ("v", i)  # noqa: E731
    # First the smallest sharing: each backward runs once, so a gradient that
    # is overwritten instead of accumulated shows the same way in any order.
    trials = [Trial("one Value used twice in one operation: a + a, b * b",
                    (program([_number(rng), _number(rng)],
                             [("+", v(0), v(0)), ("*", v(1), v(1)), ("+", v(2), v(3))]),))]
    trials.append(Trial("each operation once, numbers on either side, Value(2) of an int",
                        (program(*_every_operation(rng)),)))
    a = _number(rng)
    trials.append(Trial("a used twice: ((a + 1.0) * a), then a * a + a",
                        (program([a, _number(rng)], [("+", v(0), 1.0), ("*", v(2), v(0)),
                                                     ("*", v(0), v(0)), ("+", v(4), v(0)),
                                                     ("+", v(3), v(5)), ("*", v(6), v(1))]),)))
    trials.append(Trial("a random graph: 4 leaves, 25 random operations, shared nodes",
                        (_random_graph(rng, 4, 25),)))
    trials.append(Trial("a random graph: 3 leaves, 40 random operations, shared nodes",
                        (_random_graph(rng, 3, 40),)))
    trials.append(Trial("a chain 2,100 nodes deep", (_deep_chain(rng, 700),)))
    return trials


def _deep_chain(rng, n):
    """v = tanh(w_k * v + x) n times: 3 nodes per step, x shared by every step."""
    leaves = [_number(rng), _number(rng)]  # v0 = the start, v1 = x
    ops, last = [], 0
    weights = rng.uniform(0.5, 1.5, size=n)
    for k in range(n):
        base = len(leaves) + len(ops)
        ops += [("*", ("v", last), float(weights[k])), ("+", ("v", base), ("v", 1)),
                ("tanh", ("v", base + 1))]
        last = base + 2
    return program(leaves, ops)


# --------------------------------------------------------------------------
# Mistakes: the reference with one method wrong
# --------------------------------------------------------------------------

class _AddOverwrites(Value):
    def __add__(self, other):
        other = self._wrap(other)

        def backward(out):
            self.grad = out.grad
            other.grad = out.grad
        return self._new(self.data + other.data, (self, other), backward)


class _MulOverwrites(Value):
    def __mul__(self, other):
        other = self._wrap(other)

        def backward(out):
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad
        return self._new(self.data * other.data, (self, other), backward)


class _Overwrites(_AddOverwrites, _MulOverwrites):
    pass


def _variant(name, **methods):
    """The reference with some methods replaced."""
    return type(name, (Value,), methods)


def _mul_own_data(self, other):
    other = self._wrap(other)

    def backward(out):
        self.grad += self.data * out.grad
        other.grad += other.data * out.grad
    return self._new(self.data * other.data, (self, other), backward)


def _tanh_of_input(self):
    def backward(out):
        self.grad += (1.0 - self.data ** 2) * out.grad
    return self._new(math.tanh(self.data), (self,), backward)


def _pow_without_k(self, k):
    def backward(out):
        self.grad += self.data ** (k - 1) * out.grad
    return self._new(self.data ** k, (self,), backward)


def _rsub_backwards(self, other):
    return self - other


def _rtruediv_backwards(self, other):
    return self / other


def _backward_without_order(self):
    """Passes gradients depth-first, before a node has received all of its own."""
    self.grad = 1.0

    def visit(node):
        node._backward()
        for child in node.children:
            visit(child)
    visit(self)


def _recursive_topological_sort(self):
    order, seen = [], set()

    def build(node):
        if id(node) not in seen:
            seen.add(id(node))
            for child in node.children:
                build(child)
            order.append(node)
    build(self)
    self.grad = 1.0
    for node in reversed(order):
        node._backward()


class _IntData(Value):
    def __init__(self, data, children=()):
        super().__init__(data, children)
        self.data = data


VALUE = Exercise(
    id="value", signature="Value(data)",
    description=("check(\"value\", Value) for a class Value: Value(data) holds .data (a float, "
                 "also for an int) and .grad (0.0 until backward). It supports a + b, a - b, "
                 "a * b, a / b, a ** k (k an int or float constant) and -a, and the same with a "
                 "plain number on either side; .tanh(), .exp() and .relu() return new Values. "
                 ".backward() on a result sets .grad of every Value it depends on to "
                 "d(result)/d(that value); a Value used several times accumulates. Graphs may "
                 "be deeper than Python's recursion limit (a chain of 2,100 nodes)."),
    lesson=2, notebook="02_computational_graphs", arg_names=("graph",),
    output_names=("data", "grads"), reference=Value, make_trials=_value_trials,
    drive=drive_value, timeout=10.0,
    expected_key=lambda args: (tuple(args[0][0]), args[0][1]),
    requirements=[
        Requirement("a Value used several times accumulates its gradient",
                    ("one Value used twice", "a used twice"), _AddOverwrites,
                    also_fails=("each operation once", "a random graph", "a chain")),
        Requirement("a plain number on either side", ("each operation once",),
                    _variant("NoRightHandOperations", **{
                        name: lambda self, other: NotImplemented
                        for name in ("__radd__", "__rsub__", "__rmul__", "__rtruediv__")}),
                    also_fails=("a random graph",)),
        Requirement(".data is a float, also for an int", ("each operation once",), _IntData),
        Requirement("graphs deeper than Python's recursion limit (1000)", ("a chain 2,100",),
                    _variant("RecursiveSort", backward=_recursive_topological_sort)),
    ],
    mistakes=[
        *[("A gradient was overwritten (self.grad = ...) where it must accumulate "
           "(self.grad += ...): a Value used several times receives a gradient along each "
           "path, and they add up.", overwrites)
          for overwrites in (_AddOverwrites, _MulOverwrites, _Overwrites)],
        ("Your backward passes a node's gradient on before the node has received all of it: "
         "visit the nodes in reverse topological order (every node after all the nodes that "
         "use it), calling each node's local backward once.",
         _variant("NoOrder", backward=_backward_without_order)),
        ("a * b's backward is off: d(a * b)/da = b, so a.grad += b.data * out.grad (and "
         "b.grad += a.data * out.grad).", _variant("MulOwnData", __mul__=_mul_own_data)),
        ("tanh's backward used the input: the slope is 1 - t**2 with t = tanh(x), the "
         "OUTPUT's data.", _variant("TanhOfInput", tanh=_tanh_of_input)),
        ("a ** k's backward misses the factor k: d(a**k)/da = k a**(k - 1).",
         _variant("PowWithoutK", __pow__=_pow_without_k)),
        ("number - a came out as a - number: __rsub__(self, other) computes other - self.",
         _variant("RsubBackwards", __rsub__=_rsub_backwards)),
        ("number / a came out as a / number: __rtruediv__(self, other) computes other / self.",
         _variant("RtruedivBackwards", __rtruediv__=_rtruediv_backwards)),
    ],
    error_hints=[
        ("RecursionError", "Your backward recursed once per node and hit Python's recursion "
         "limit (about 1000) on a deep graph. Build the topological order with an explicit "
         "stack (a list you append to and pop from) instead of a recursive function."),
        ("unsupported operand type", "A plain number on the left (2.0 + a, 2.0 * a, 2.0 - a, "
         "2.0 / a) calls a's __radd__, __rmul__, __rsub__ and __rtruediv__: define them."),
        ("'NoneType' object is not callable", "A plain number on the left (2.0 + a) calls "
         "a.__radd__(2.0) (and __rmul__, __rsub__, __rtruediv__): define them as methods."),
    ],
    debug_hint=("Try a = Value(3.0); b = (a + 1.0) * a; b.backward(): b.data is 12.0 and "
                "a.grad must be 2a + 1 = 7.0 (3 from one path, 4 from the other)."))
