"""A tiny scalar reverse-mode autodiff, for the computational-graph lesson.

Every ``Value`` remembers the values it was computed from and a small
function that applies the chain rule for its own operation:

    out = a * b
    a.grad += b.data * out.grad   # d(out)/da = b
    b.grad += a.data * out.grad   # d(out)/db = a

``backward()`` visits the graph from the output back to the leaves in
reverse topological order, so each node's gradient is complete before it is
passed on. Gradients add up (``+=``) because a value used twice receives a
gradient along both paths.
"""

import math


class Value:
    """A scalar in a computational graph, with its gradient."""

    def __init__(self, data, children=(), op="", label=""):
        self.data = float(data)
        self.grad = 0.0
        self.children = tuple(children)
        self.op = op
        self.label = label
        self._backward = lambda: None

    def __repr__(self):
        name = f"{self.label}=" if self.label else ""
        return f"Value({name}{self.data:.4g}, grad={self.grad:.4g})"

    # -- operations: the forward value and, beside it, the local backward --

    def __add__(self, other):
        other = _as_value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def backward():
            self.grad += out.grad
            other.grad += out.grad
        out._backward = backward
        return out

    def __mul__(self, other):
        other = _as_value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
        out._backward = backward
        return out

    def __pow__(self, exponent):
        if not isinstance(exponent, (int, float)):
            raise TypeError("only a constant int or float exponent is supported")
        out = Value(self.data ** exponent, (self,), f"**{exponent:g}")

        def backward():
            self.grad += exponent * self.data ** (exponent - 1) * out.grad
        out._backward = backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def backward():
            self.grad += out.data * out.grad  # d/dx exp(x) = exp(x)
        out._backward = backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def backward():
            self.grad += (1.0 - out.data ** 2) * out.grad
        out._backward = backward
        return out

    def relu(self):
        out = Value(max(self.data, 0.0), (self,), "relu")

        def backward():
            self.grad += (self.data > 0) * out.grad
        out._backward = backward
        return out

    def sigmoid(self):
        out = Value(float(_stable_sigmoid(self.data)), (self,), "sigmoid")

        def backward():
            self.grad += out.data * (1.0 - out.data) * out.grad
        out._backward = backward
        return out

    # -- the rest follows from the operations above --------------------------

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-_as_value(other))

    def __truediv__(self, other):
        return self * _as_value(other) ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return _as_value(other) - self

    def __rtruediv__(self, other):
        return _as_value(other) / self

    # -- reverse mode ----------------------------------------------------------

    def backward(self):
        """Fill in ``grad`` = d(self)/d(node) for every node of the graph.

        Gradients are reset first, so calling backward twice gives the same
        result rather than silently doubling it.
        """
        order = topological_order(self)
        for node in order:
            node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()


def _as_value(x):
    return x if isinstance(x, Value) else Value(x)


def _stable_sigmoid(x):
    e = math.exp(-abs(x))
    return (1.0 if x >= 0 else e) / (1.0 + e)


def topological_order(root):
    """Every node of root's graph, each one after all of its children.

    Iterative depth-first search, so deep graphs do not hit Python's
    recursion limit.
    """
    order, seen = [], set()
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
        elif id(node) not in seen:
            seen.add(id(node))
            stack.append((node, True))
            stack.extend((child, False) for child in node.children)
    return order


_OP_SYMBOLS = {"sigmoid": "σ"}  # short enough to fit in the operation's circle


def draw_graph(root, ax=None, *, title=None):
    """Draw root's computational graph with matplotlib.

    Leaves are on the left, the output on the right. Each value is a box
    showing its label, data and grad; each operation is a circle between its
    inputs and its result. Returns the matplotlib Axes.
    """
    import matplotlib.pyplot as plt

    order = topological_order(root)
    depth = {}
    for node in order:  # children come first, so their depth is known
        depth[id(node)] = 1 + max((depth[id(c)] for c in node.children),
                                  default=-1)
    columns = {}
    for node in order:
        columns.setdefault(depth[id(node)], []).append(node)
    n_cols = max(columns) + 1
    n_rows = max(len(nodes) for nodes in columns.values())
    if ax is None:  # wide graphs are squeezed to fit a notebook page
        _, ax = plt.subplots(figsize=(min(2.6 * n_cols + 1, 16), 1.2 * n_rows + 1))

    position = {}
    for col, nodes in columns.items():
        for row, node in enumerate(nodes):
            position[id(node)] = (3.0 * col, (len(nodes) - 1) / 2 - row)

    # The drawing itself (colours, sizes, arrows) is checked by eye, not by tests,
    # so mutation testing leaves the rest of this function alone: # pragma: no mutate block
    box = dict(boxstyle="round,pad=0.35", facecolor="#eef3fb", edgecolor="#4c72b0")
    circle = dict(boxstyle="circle,pad=0.25", facecolor="#fdf0e0", edgecolor="#dd8452")
    for node in order:
        x, y = position[id(node)]
        name = f"{node.label} | " if node.label else ""
        ax.text(x, y, f"{name}data {node.data:.4g}\ngrad {node.grad:.4g}",
                ha="center", va="center", fontsize=9, bbox=box, zorder=3)
        if node.op:
            ox = x - 1.35
            ax.text(ox, y, _OP_SYMBOLS.get(node.op, node.op), ha="center", va="center",
                    fontsize=9, bbox=circle, zorder=3)
            ax.annotate("", xy=(x - 0.75, y), xytext=(ox + 0.2, y),
                        arrowprops=dict(arrowstyle="->", color="#555555"))
            for child in node.children:
                cx, cy = position[id(child)]
                ax.annotate("", xy=(ox - 0.2, y), xytext=(cx + 0.75, cy),
                            arrowprops=dict(arrowstyle="->", color="#555555"))
    xs = [p[0] for p in position.values()]
    ys = [p[1] for p in position.values()]
    ax.set_xlim(min(xs) - 1.7, max(xs) + 1.0)
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    ax.set_title(title or "Computational graph: forward values and gradients")
    return ax

