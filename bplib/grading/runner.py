"""The student's side of a check: call the function, record what happened.

Everything here runs where the student's code lives (their notebook kernel).
It never raises because of the student's function, and it turns whatever the
function returned into a *portable* record (plain JSON-able data), so that
the comparison can happen in the same process (``check``) or in another one
(classroom grading), with the same verdict either way.
"""

import base64
import contextlib
import copy
import io
import traceback
import warnings
from pathlib import Path

import numpy as np

import bplib

MAX_STDOUT = 2000  # characters of a student's printing we keep
MAX_DEPTH = 4      # nesting of returned containers we follow


class _BoundedWriter(io.TextIOBase):
    """A stdout replacement that keeps the first MAX_STDOUT characters."""

    def __init__(self):
        self.parts, self.size = [], 0

    def write(self, text):
        if self.size < MAX_STDOUT:
            self.parts.append(text[:MAX_STDOUT - self.size])
        self.size += len(text)
        return len(text)

    def getvalue(self):
        return "".join(self.parts)


def call_student(fn, args, arg_names):
    """Call ``fn(*args)`` on private copies and record everything.

    Returns a portable dict with keys: outputs (portable tree or None), error
    (None or a dict with type, message, line), changed (names of arguments the
    function modified), warnings (messages of warnings it raised), stdout
    (the start of what it printed) and stdout_chars (how much it printed).
    """
    private = copy.deepcopy(args)
    record = {"outputs": None, "error": None, "changed": [], "warnings": [],
              "stdout": "", "stdout_chars": 0}
    out = _BoundedWriter()
    try:
        # Underflow is harmless (exp(-1000) is 0); the rest signals instability.
        with warnings.catch_warnings(record=True) as caught, \
                np.errstate(over="warn", divide="warn", invalid="warn", under="ignore"), \
                contextlib.redirect_stdout(out):
            warnings.simplefilter("always")
            result = fn(*private)
        record["outputs"] = to_portable(result)
        record["warnings"] = sorted({f"{w.category.__name__}: {w.message}"
                                     for w in caught})[:20]
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # SystemExit too: a check never crashes
        record["error"] = _describe_exception(exc)
    record["stdout"], record["stdout_chars"] = out.getvalue(), out.size
    record["changed"] = [name for name, before, after in
                         zip(arg_names, args, private) if not _same(before, after)]
    return record


_LIBRARY_DIRS = tuple(str(Path(m.__file__).resolve().parent) for m in (np, bplib))


def _describe_exception(exc):
    """Type, message and the line of the student's code that raised."""
    line = None
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if not str(Path(frame.filename).resolve()).startswith(_LIBRARY_DIRS):
            line = {"line": frame.lineno, "code": (frame.line or "").strip()}
            break
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    if len(message) > 300:
        message = message[:300] + "..."
    return {"type": type(exc).__name__, "message": message, "where": line}


def _same(a, b):
    """Deep equality of arguments, NaN-aware, without trusting __eq__ of odd types."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape and a.dtype == b.dtype
                and np.array_equal(a, b, equal_nan=True))
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(_same(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)):
        return (type(a) is type(b) and len(a) == len(b)
                and all(_same(x, y) for x, y in zip(a, b)))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    if callable(a):
        return True
    return type(a) is type(b) and a == b


# --------------------------------------------------------------------------
# Portable values: plain data that survives JSON and means the same thing
# --------------------------------------------------------------------------

def to_portable(value, depth=0):
    """Encode a returned value as JSON-able data, keeping types and shapes.

    Arrays keep dtype and shape (their bytes in base64), numbers stay
    numbers, containers are followed a few levels deep, and anything else
    becomes {"kind": "other", "type": its type name}.
    """
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc" and depth <= MAX_DEPTH:
        if value.dtype.kind == "c":
            return {"kind": "other", "type": f"complex array ({value.dtype})"}
        return {"kind": "array", "dtype": value.dtype.str, "shape": list(value.shape),
                "data": base64.b64encode(value.tobytes()).decode("ascii")}
    if isinstance(value, (bool, np.bool_)):
        return {"kind": "bool", "value": bool(value)}
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return {"kind": "int", "value": int(value)} if abs(int(value)) < 2**53 else \
            {"kind": "float", "value": float(value), "type": "int"}
    if isinstance(value, (float, np.floating)):
        number = float(value)  # strict JSON has no NaN or inf: keep those as text
        return {"kind": "float", "value": number if np.isfinite(number) else repr(number),
                "type": type(value).__name__}
    if value is None:
        return {"kind": "none"}
    if depth < MAX_DEPTH:
        if isinstance(value, (tuple, list)):
            return {"kind": "list" if isinstance(value, list) else "tuple",
                    "items": [to_portable(v, depth + 1) for v in value[:20]],
                    "length": len(value)}
        if isinstance(value, dict):
            return {"kind": "dict",
                    "items": [[str(k), to_portable(v, depth + 1)]
                              for k, v in list(value.items())[:20]]}
    return {"kind": "other", "type": type(value).__name__}


def from_portable(p):
    """Decode ``to_portable`` data back into arrays, numbers and containers.

    Unknown types come back as an ``Opaque`` holding the type name.
    """
    kind = p.get("kind")
    if kind == "array":
        raw = base64.b64decode(p["data"])
        return np.frombuffer(raw, dtype=np.dtype(p["dtype"])).reshape(tuple(p["shape"])).copy()
    if kind in ("int", "bool", "float"):
        value = float(p["value"]) if isinstance(p["value"], str) else p["value"]
        return np.float64(value) if p.get("type") == "float64" else value
    if kind == "none":
        return None
    if kind in ("tuple", "list"):
        items = [from_portable(v) for v in p["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: from_portable(v) for k, v in p["items"]}
    return Opaque(p.get("type", "unknown"))


class Opaque:
    """Stands for a returned object the grader does not look inside."""

    def __init__(self, type_name):
        self.type_name = type_name

    def __repr__(self):
        return f"<{self.type_name}>"
