"""How long check() takes, per exercise, and how soon a timed-out check returns.

    python benchmarks/bench_checks.py [--repeats 15]

For every exercise, checks the reference implementation on ``repeats`` seeds
and prints the median and the worst wall time of check() (the student's
function, the reference, the numerical gradients and the judging, with the
time limit armed), and the median of the check's own share: check() less the
time spent inside the answer being checked. Target: a median under 50 ms for
every exercise; for the capstone, digits_network, the answer trains a network
(its limit is 10 s), so the target applies to the check's own share. Then checks an infinite loop
with a 1 s limit and prints how long check() took to return: it must be
within the limit plus 1 s.
"""

import argparse
import statistics
import time

from bplib.grading import EXERCISES, check, reference


def _timed(fn, spent):
    """fn, adding the time each call takes to spent[0] (classes are left as they are)."""
    if isinstance(fn, type):
        return fn

    def timed(*args, **kwargs):
        started = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - started
    return timed


def time_checks(repeats):
    rows = []
    for exercise_id in EXERCISES:
        fn = reference(exercise_id)
        check(exercise_id, fn)  # warm up (imports, caches)
        times, own = [], []
        for seed in range(repeats):
            spent = [0.0]
            started = time.perf_counter()
            result = check(exercise_id, _timed(fn, spent), seed=seed)
            times.append(time.perf_counter() - started)
            own.append(times[-1] - spent[0])
            assert result.passed, result.feedback
        rows.append((exercise_id, statistics.median(times), max(times), statistics.median(own)))
    return rows


def time_a_timeout(limit=1.0):
    def relu_backward(z, dout):
        while True:
            pass

    started = time.perf_counter()
    result = check("relu_backward", relu_backward, timeout=limit)
    elapsed = time.perf_counter() - started
    assert "did not return within" in result.feedback
    started = time.perf_counter()
    check("relu_backward", relu_backward, timeout=limit)  # remembered: returns at once
    return elapsed, time.perf_counter() - started


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    print(f"check() with the reference implementation, {args.repeats} seeds each")
    print(f"{'exercise':24s} {'median':>10s} {'worst':>10s} {'check own':>10s}")
    for exercise_id, median, worst, own in time_checks(args.repeats):
        flag = "" if median < 0.05 or own < 0.05 and exercise_id == "digits_network" \
            else "  (over 50 ms)"
        print(f"{exercise_id:24s} {median * 1000:8.1f} ms {worst * 1000:8.1f} ms "
              f"{own * 1000:8.1f} ms{flag}")
    first, again = time_a_timeout(1.0)
    print(f"an infinite loop with timeout=1 s: check() returned after {first:.2f} s "
          f"(limit + 1 s = 2 s); checked again: {again * 1000:.1f} ms")


if __name__ == "__main__":
    main()
