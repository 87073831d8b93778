"""Benchmark: what one training step of bplib costs, and why we backpropagate.

Run from the repository root:

    python benchmarks/bench_training.py          # the whole run, about a minute
    python benchmarks/bench_training.py --quick  # fewer repeats, a smoke test

Part 1 times one training step (forward, backward, SGD update) of
``bplib.nn.mlp`` + ``nn.SGD``, taken as ``Network.fit`` takes it, against

* the same step written the plain way of the from-scratch chapter
  (Layer_Dense / Activation_ReLU / Activation_Softmax /
  Loss_CategoricalCrossentropy keeping ``self.output`` and ``self.dvalues``,
  ReLU backward by copy and masked assignment, ``range(samples)`` indexing,
  ``weights -= lr * dweights``), and
* the matrix products the step needs, alone: ``X @ W`` for every layer,
  ``A.T @ dZ`` for every layer and ``dZ @ W.T`` for every layer but the first.

for a small network (2-64-3 on the 300-point spiral) and a large one
(1024-1024-1024-10, batch 1024). It also times, for information, the bplib
step with one step's caches kept alive until the next step's forward pass
(the allocator workaround ``fit`` used to have; see benchmarks/README.md).

Part 2 compares the cost of one full gradient by backprop with its cost by
central differences (``bplib.gradcheck.numerical_gradient``) as the number
of parameters grows from 10^2 to 10^5.

Every time is the minimum over repeats (``time.perf_counter``), with one
BLAS thread, and every ratio is between times measured in this run.
"""

import os

# One BLAS thread, set before numpy is imported (it reads these at import).
for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bplib import nn  # noqa: E402
from bplib.datasets import make_spiral  # noqa: E402
from bplib.gradcheck import numerical_gradient  # noqa: E402

TARGET_LARGE = 1.10  # bplib step / its matmuls alone, at most


def best_time(fn, *, repeat, number, cpu=False):
    """Seconds per call: the minimum over ``repeat`` runs of ``number`` calls,
    by ``time.perf_counter``. With cpu=True, also the minimum process CPU
    time (``time.process_time``: user + system), which other processes on a
    busy machine disturb far less than the wall clock."""
    fn()  # warm up (first-touch allocations, BLAS buffers)
    walls, cpus = [], []
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn()
        walls.append((time.perf_counter() - start) / number)
        cpus.append((time.process_time() - start_cpu) / number)
    return (min(walls), min(cpus)) if cpu else min(walls)


def fmt(seconds):
    if seconds >= 1.0:
        return f"{seconds:8.3f} s "
    if seconds >= 1e-3:
        return f"{seconds * 1e3:8.2f} ms"
    return f"{seconds * 1e6:8.1f} us"


# --------------------------------------------------------------------------
# The from-scratch chapter's classes, as the chapter writes them
# --------------------------------------------------------------------------

class Layer_Dense:

    def __init__(self, inputs, neurons):
        self.weights = 0.01 * np.random.randn(inputs, neurons)
        self.biases = np.zeros((1, neurons))

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.dot(inputs, self.weights) + self.biases

    def backward(self, dvalues):
        self.dweights = np.dot(self.inputs.T, dvalues)
        self.dbiases = np.sum(dvalues, axis=0, keepdims=True)
        self.dvalues = np.dot(dvalues, self.weights.T)


class Activation_ReLU:

    def forward(self, inputs):
        self.inputs = inputs
        self.output = np.maximum(0, inputs)

    def backward(self, dvalues):
        # Copy, since the original variable is modified.
        self.dvalues = dvalues.copy()
        # Zero gradient where input values were negative.
        self.dvalues[self.inputs <= 0] = 0


class Activation_Softmax:

    def forward(self, inputs):
        self.inputs = inputs
        exp_values = np.exp(inputs - np.max(inputs, axis=1, keepdims=True))
        probabilities = exp_values / np.sum(exp_values, axis=1, keepdims=True)
        self.output = probabilities

    def backward(self, dvalues):
        self.dvalues = dvalues.copy()


class Loss_CategoricalCrossentropy:

    def forward(self, y_pred, y_true):
        samples = y_pred.shape[0]
        if len(y_true.shape) == 1:
            y_pred = y_pred[range(samples), y_true]
        negative_log_likelihoods = -np.log(y_pred)
        if len(y_true.shape) == 2:
            negative_log_likelihoods *= y_true
        data_loss = np.sum(negative_log_likelihoods) / samples
        return data_loss

    def backward(self, dvalues, y_true):
        samples = dvalues.shape[0]
        self.dvalues = dvalues.copy()  # Copy so we can safely modify
        self.dvalues[range(samples), y_true] -= 1
        self.dvalues = self.dvalues / samples


class PlainNetwork:
    """Dense, ReLU, ..., Dense, Softmax and the loss, stepped as the chapter
    steps them, with the plain update ``weights -= lr * dweights``."""

    def __init__(self, params, lr):
        self.lr = lr
        n_dense = len(params) // 2
        self.dense = []
        for k in range(n_dense):
            W, b = params[f"{2 * k}.W"], params[f"{2 * k}.b"]
            layer = Layer_Dense(*W.shape)
            layer.weights = W.copy()
            layer.biases = b.reshape(1, -1).copy()
            self.dense.append(layer)
        self.relus = [Activation_ReLU() for _ in range(n_dense - 1)]
        self.softmax = Activation_Softmax()
        self.loss_function = Loss_CategoricalCrossentropy()

    def step(self, X, y):
        inputs = X
        for dense, relu in zip(self.dense[:-1], self.relus):
            dense.forward(inputs)
            relu.forward(dense.output)
            inputs = relu.output
        self.dense[-1].forward(inputs)
        self.softmax.forward(self.dense[-1].output)
        loss = self.loss_function.forward(self.softmax.output, y)

        self.loss_function.backward(self.softmax.output, y)
        self.softmax.backward(self.loss_function.dvalues)
        self.dense[-1].backward(self.softmax.dvalues)
        dvalues = self.dense[-1].dvalues
        for dense, relu in zip(reversed(self.dense[:-1]), reversed(self.relus)):
            relu.backward(dvalues)
            dense.backward(relu.dvalues)
            dvalues = dense.dvalues

        for dense in self.dense:
            dense.weights -= self.lr * dense.dweights
            dense.biases -= self.lr * dense.dbiases
        return loss


# --------------------------------------------------------------------------
# Part 1: one training step
# --------------------------------------------------------------------------

def matmuls_alone(net, X, y):
    """A closure doing only the step's matrix products, on arrays of the
    step's own shapes (taken from one real forward and backward pass)."""
    params = net.parameters()
    n_dense = len(params) // 2
    Ws = [params[f"{2 * k}.W"] for k in range(n_dense)]
    out, caches = net.forward(X)
    _, dout = net.loss(out, y)
    # The input of each dense layer, and the gradient at each dense output.
    As = [caches[2 * k] for k in range(n_dense)]
    dZs = []
    for i in range(len(net.layers) - 1, -1, -1):
        if i % 2 == 0:
            dZs.append(dout)
        dout, _ = net.layers[i].backward(caches[i], dout, input_grad=i > 0)
    dZs.reverse()

    def run():
        for A, W in zip(As, Ws):
            A @ W
        for k in range(n_dense):
            As[k].T @ dZs[k]
            if k > 0:
                dZs[k] @ Ws[k].T

    return run


NETWORKS = {
    "small": dict(sizes=[2, 64, 3], repeat=15, number=100),
    "large": dict(sizes=[1024, 1024, 1024, 10], repeat=7, number=2),
}
VARIANTS = ["bplib", "kept", "plain", "matmuls"]


def network_data(name):
    if name == "small":
        return make_spiral(100, 3, seed=0)  # 300 points, 3 classes
    rng = np.random.default_rng(0)
    return rng.standard_normal((1024, 1024)), rng.integers(0, 10, size=1024)


def step_function(name, variant, lr=0.01):
    """The step to time: bplib's (as fit takes it, or with its caches kept
    alive until the next step), the chapter's, or the matmuls alone.
    All start from the same weights (bplib's initialisation)."""
    X, y = network_data(name)
    net = nn.mlp_network(NETWORKS[name]["sizes"], seed=0)
    if variant == "plain":
        plain = PlainNetwork(net.parameters(), lr)
        return lambda: plain.step(X, y)
    if variant == "matmuls":
        return matmuls_alone(net, X, y)
    optimizer = nn.SGD(lr)
    params = net.parameters()
    if variant == "bplib":
        def bplib_step():  # the step exactly as Network.fit takes it
            _, grads = net.loss_and_gradients(X, y)
            optimizer.step(params, grads)
        return bplib_step
    kept = {}

    def kept_step():
        # This step's caches stay alive until the next step's forward pass
        # has made its own arrays, so the allocator never returns their
        # memory to the operating system between steps.
        out, kept["caches"] = net.forward(X)
        _, dout = net.loss(out, y)
        optimizer.step(params, net.backward(kept["caches"], dout))

    return kept_step


def time_variant(name, variant, scale=1.0):
    """Seconds per step and page faults per step, measured in this process."""
    cfg = NETWORKS[name]
    number = max(1, round(cfg["number"] * scale))
    repeat = max(2, round(cfg["repeat"] * scale))
    fn = step_function(name, variant)
    fn()  # the first steps fault in their fresh memory: not counted
    fn()
    faults0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    seconds, cpu_seconds = best_time(fn, repeat=repeat, number=number, cpu=True)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults0
    return dict(seconds=seconds, cpu_seconds=cpu_seconds,
                faults=faults / ((repeat * number) + 1))


def time_in_fresh_process(name, variant, scale):
    """Each variant runs in its own interpreter, so that no variant inherits
    the heap left behind by another (the allocator's state changes how many
    page faults a step takes, see benchmarks/README.md)."""
    out = subprocess.run(
        [sys.executable, __file__, "--variant", f"{name}:{variant}",
         "--scale", str(scale)],
        check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def check_same_step(name, lr=0.01):
    """bplib's step and the chapter's compute the same loss and gradients."""
    X, y = network_data(name)
    net = nn.mlp_network(NETWORKS[name]["sizes"], seed=0)
    plain = PlainNetwork(net.parameters(), lr)
    loss_plain = plain.step(X, y)
    loss_bplib, grads = net.loss_and_gradients(X, y)
    assert abs(loss_plain - loss_bplib) <= 1e-9 * abs(loss_bplib)
    for k, dense in enumerate(plain.dense):
        np.testing.assert_allclose(dense.dweights, grads[f"{2 * k}.W"],
                                   rtol=1e-8, atol=1e-12)
    return sum(v.size for v in net.parameters().values())


def bench_step(name, *, scale, rounds):
    n_params = check_same_step(name)
    results = {}
    for _ in range(rounds):  # rounds interleave the variants; keep each best
        for variant in VARIANTS:
            r = time_in_fresh_process(name, variant, scale)
            best = results.setdefault(variant, r)
            best["seconds"] = min(best["seconds"], r["seconds"])
            best["cpu_seconds"] = min(best["cpu_seconds"], r["cpu_seconds"])
    t = {v: results[v]["seconds"] for v in VARIANTS}
    cpu = {v: results[v]["cpu_seconds"] for v in VARIANTS}
    X, _ = network_data(name)
    print(f"\n{name}: {'-'.join(map(str, NETWORKS[name]['sizes']))}, "
          f"batch {len(X)}, {n_params:,} parameters")
    labels = {"bplib": "bplib step (as in Network.fit)",
              "kept": "bplib step, caches kept to the next step",
              "plain": "plain chapter step",
              "matmuls": "matmuls alone"}
    print(f"  {'':<44} {'wall':>11}   {'CPU':>11}   page faults/step")
    for v in VARIANTS:
        print(f"  {labels[v]:<44} {fmt(t[v])}   {fmt(cpu[v])}   "
              f"{results[v]['faults']:7.1f}")
    print(f"  {name}: bplib step / matmuls = {t['bplib'] / t['matmuls']:.2f}x "
          f"(CPU time {cpu['bplib'] / cpu['matmuls']:.2f}x)")
    print(f"  {name}: bplib / plain = {t['bplib'] / t['plain']:.2f}x "
          f"(CPU time {cpu['bplib'] / cpu['plain']:.2f}x)")
    print(f"  {name}: caches kept / bplib = {t['kept'] / t['bplib']:.2f}x "
          f"(CPU time {cpu['kept'] / cpu['bplib']:.2f}x)")
    t["cpu"] = cpu
    return t


# --------------------------------------------------------------------------
# Part 2: backprop against central differences
# --------------------------------------------------------------------------

def bench_gradient_cost(n_params_targets, *, max_full_coords, sample_coords, repeat):
    """Networks D-H-C with D = C = 10 and H chosen for about P parameters
    (P = 21 H + 10), on a batch of 64."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 10))
    y = rng.integers(0, 10, size=64)
    print("\nPart 2: one full gradient, backprop vs central differences "
          "(network 10-H-10, batch 64)")
    print(f"  {'params':>8} {'backprop':>11} {'numerical':>11} {'ratio':>10}  how")
    rows = []
    for target in n_params_targets:
        hidden = max(1, round((target - 10) / 21))
        net = nn.mlp_network([10, hidden, 10], seed=0)
        params = net.parameters()
        n_params = sum(v.size for v in params.values())
        names = list(params)
        sizes = [params[k].size for k in names]
        flat0 = np.concatenate([params[k].ravel() for k in names])

        def loss_at(flat):
            pieces = np.split(flat, np.cumsum(sizes)[:-1])
            trial = net.with_parameters(
                {k: p.reshape(params[k].shape) for k, p in zip(names, pieces)})
            return trial.loss(trial.output(X), y)[0]

        t_backprop = best_time(lambda: net.loss_and_gradients(X, y),
                               repeat=repeat, number=5)
        if n_params <= max_full_coords:
            # Every coordinate: check it agrees with backprop while we are here.
            start = time.perf_counter()
            numerical = numerical_gradient(loss_at, flat0)
            t_numerical = time.perf_counter() - start
            _, grads = net.loss_and_gradients(X, y)
            analytic = np.concatenate([grads[k].ravel() for k in names])
            assert np.max(np.abs(numerical - analytic)) < 1e-6 * max(
                1.0, np.max(np.abs(analytic)))
            how = "all coordinates"
        else:
            # A random sample of coordinates, timed, scaled up to all of them.
            coords = rng.choice(n_params, size=sample_coords, replace=False)

            def loss_of_sample(values):
                flat = flat0.copy()
                flat[coords] = values
                return loss_at(flat)

            start = time.perf_counter()
            numerical_gradient(loss_of_sample, flat0[coords])
            t_numerical = (time.perf_counter() - start) * n_params / sample_coords
            how = f"{sample_coords} sampled coordinates, extrapolated"
        rows.append((n_params, t_backprop, t_numerical))
        print(f"  {n_params:>8,} {fmt(t_backprop):>11} {fmt(t_numerical):>11} "
              f"{t_numerical / t_backprop:>9.0f}x  {how}")
    return rows


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="fewer repeats, for a smoke test")
    parser.add_argument("--variant", help=argparse.SUPPRESS)  # internal
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.variant:  # a child process timing one variant
        name, variant = args.variant.split(":")
        print(json.dumps(time_variant(name, variant, args.scale)))
        return
    quick = args.quick
    scale = 0.3 if quick else 1.0

    start = time.perf_counter()
    print(f"CPU {cpu_model()}, Python {sys.version.split()[0]}, "
          f"numpy {np.__version__}, one BLAS thread "
          f"(OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}), "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("times: minimum over repeats, time.perf_counter; each step variant "
          "in a fresh process")

    print("\nPart 1: one training step (forward, backward, SGD update)")
    small = bench_step("small", scale=scale, rounds=1 if quick else 3)
    large = bench_step("large", scale=scale, rounds=1 if quick else 2)

    rows = bench_gradient_cost(
        [10 ** 2, 10 ** 3, 10 ** 4, 10 ** 5],
        max_full_coords=2_000 if quick else 12_000,
        sample_coords=300 if quick else 2_000,
        repeat=3 if quick else 7)

    ratio_large = large["bplib"] / large["matmuls"]
    ratio_small = small["bplib"] / small["plain"]
    print("\nSummary")
    cpu_large = large["cpu"]["bplib"] / large["cpu"]["matmuls"]
    cpu_small = small["cpu"]["bplib"] / small["cpu"]["plain"]
    print(f"  large: bplib step / matmuls = {ratio_large:.2f}x "
          f"(target <= {TARGET_LARGE:.2f}x: "
          f"{'met' if ratio_large <= TARGET_LARGE else 'MISSED'}; "
          f"CPU time {cpu_large:.2f}x)")
    print(f"  small: bplib / plain = {ratio_small:.2f}x "
          f"(for information, no target; CPU time {cpu_small:.2f}x)")
    print(f"  large: bplib / plain = {large['bplib'] / large['plain']:.2f}x")
    print(f"  small: bplib step / matmuls = {small['bplib'] / small['matmuls']:.2f}x")
    first, last = rows[0], rows[-1]
    print(f"  numerical / backprop grows from {first[2] / first[1]:.0f}x at "
          f"{first[0]:,} parameters to {last[2] / last[1]:.0f}x at {last[0]:,}")
    print(f"total run time {time.perf_counter() - start:.0f} s, "
          f"load average now {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
