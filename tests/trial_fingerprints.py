"""The trials every exercise is graded on, recorded, so that they change only on purpose.

A student's score is decided by the trials of (exercise, seed). An instructor who
regrades after upgrading bplib expects the same score for the same submission, so a
change to any trial (an input, a shape, a label, a flag, held-out data) must be
deliberate. tests/test_grading_trials.py compares each trial's fingerprint with the one
recorded in tests/data/trials.json. After changing trials on purpose, record them again
and say so in the release notes:

    .venv/bin/python tests/trial_fingerprints.py

A fingerprint is the first 16 hex digits of the SHA-256 of the trial's canonical text:
every field, numbers to 12 significant digits (so that a last-bit difference of a
platform's arithmetic is not a change).
"""

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from bplib.grading import EXERCISES, make_trials

RECORD = Path(__file__).resolve().parent / "data" / "trials.json"
SEEDS = [None, *range(10)]  # the seeds recorded, those tests/test_grading_trials.py checks


def canonical(value):
    """A text that names every number, string and structure in ``value``."""
    if isinstance(value, np.ndarray):
        numbers = " ".join(_number(v) for v in value.ravel())
        return f"array({value.dtype}, {value.shape}, [{numbers}])"
    if isinstance(value, (float, np.floating)):
        return _number(value)
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):  # numpy 2 writes np.int64(3) where 1.x wrote 3
        return repr(int(value))
    if value is None or isinstance(value, str):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return f"{type(value).__name__}({', '.join(canonical(v) for v in value)})"
    if isinstance(value, dict):
        items = (f"{canonical(k)}: {canonical(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    if dataclasses.is_dataclass(value):
        fields = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
        return type(value).__qualname__ + canonical(fields)
    if hasattr(value, "__dict__"):  # an object a trial passes, such as a SmoothFunction
        return type(value).__qualname__ + canonical(vars(value))
    raise TypeError(f"no canonical text for a {type(value).__name__}: add it here")


def _number(x):
    return f"{float(x):.12g}"


def fingerprints(exercise_id, seed):
    """One fingerprint per trial of (exercise, seed), in the trials' order."""
    return [hashlib.sha256(canonical(trial).encode()).hexdigest()[:16]
            for trial in make_trials(exercise_id, seed)]


def recorded():
    """exercise id -> {seed as text ("None", "0", ...) -> the recorded fingerprints}."""
    return json.loads(RECORD.read_text())


def record():
    trials = {exercise_id: {str(seed): fingerprints(exercise_id, seed) for seed in SEEDS}
              for exercise_id in EXERCISES}
    blocks = []  # JSON with a line per (exercise, seed), so that a diff shows what changed
    for exercise_id, per_seed in trials.items():
        rows = ",\n".join(f"    {json.dumps(seed)}: {json.dumps(prints)}"
                          for seed, prints in per_seed.items())
        blocks.append(f"  {json.dumps(exercise_id)}: {{\n{rows}\n  }}")
    RECORD.parent.mkdir(exist_ok=True)
    RECORD.write_text("{\n" + ",\n".join(blocks) + "\n}\n")
    print(f"recorded the trials of {len(trials)} exercises, {len(SEEDS)} seeds each, "
          f"in {RECORD}")


if __name__ == "__main__":
    record()
