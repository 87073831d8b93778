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
import ctypes
import io
import signal
import sysconfig
import threading
import time
import traceback
import warnings
import weakref
from pathlib import Path

import numpy as np

import bplib

MAX_STDOUT = 2000  # characters of a student's printing we keep
MAX_DEPTH = 4      # nesting of returned containers we follow
MAX_ITEMS = 20     # items of a returned container we send (a list or tuple's others: counted)


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
    except (KeyboardInterrupt, CheckTimeout):
        raise
    except BaseException as exc:  # SystemExit too: a check never crashes
        record["error"] = _describe_exception(exc)
    record["stdout"], record["stdout_chars"] = out.getvalue(), out.size
    record["changed"] = [name for name, before, after in
                         zip(arg_names, args, private) if not _same(before, after)]
    return record


# Code that is not the student's: numpy, bplib, Python's standard library and
# installed packages (an error's line, and what raised it, is sought outside them).
_LIBRARY_DIRS = tuple(str(Path(m.__file__).resolve().parent) for m in (np, bplib)) + tuple(
    str(Path(sysconfig.get_paths()[key]).resolve()) for key in ("stdlib", "purelib", "platlib"))


def _is_library(frame):
    return str(Path(frame.filename).resolve()).startswith(_LIBRARY_DIRS)


def _describe_exception(exc):
    """Type, message and the line of the student's code that raised.

    "where" is the innermost line of the student's code (not numpy's or
    bplib's, nor a class exercise's driver): line, code, function. "entry"
    says whether the exception was raised by that line in the function under
    check itself (called straight from the grader), as opposed to a helper it
    called or a library: a NotImplementedError from a helper means the helper
    is not written yet, not that the exercise was not attempted.
    """
    frames = traceback.extract_tb(exc.__traceback__)
    grader = [_is_library(f) or f.name.startswith("drive_") for f in frames]
    for k in range(len(frames) - 1):  # a lambda that calls a class exercise's driver
        if frames[k].name == "<lambda>" and frames[k + 1].name.startswith("drive_"):
            grader[k] = True
    line, entry, library = None, True, True
    for k in range(len(frames) - 1, -1, -1):
        if not grader[k]:
            frame = frames[k]
            line = {"line": frame.lineno, "code": (frame.line or "").strip(),
                    "function": frame.name}
            # raised by the student's own `raise` line, not by code it called (C code
            # has no frame of its) ...
            library = not (k == len(frames) - 1
                           and (not frame.line or frame.line.lstrip().startswith("raise")))
            # ... and in the function the grader called
            entry = not library and (k == 0 or grader[k - 1])
            break
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    if len(message) > 300:
        message = message[:300] + "..."
    return {"type": type(exc).__name__, "message": message, "where": line, "entry": entry,
            "library": library}


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
# A time limit on the student's code
# --------------------------------------------------------------------------

class CheckTimeout(BaseException):
    """Raised inside the student's code when a check's time limit is up.

    A BaseException, so that the student's ``except Exception`` does not
    swallow it (and the timer raises it again every 50 ms if a bare
    ``except:`` does).
    """


def not_callable_record(value):
    """The record of a check given something that is not a function or class
    (``check("relu_backward", relu_backward(z, dout))``, say): one record."""
    return {"outputs": None, "changed": [], "warnings": [], "stdout": "", "stdout_chars": 0,
            "error": {"type": "NotCallable", "where": None,
                      "message": f"got {type(value).__name__}"}}


def timeout_record(seconds, where=None, before=False):
    """The record of a trial that was stopped (or, before=True, not run because
    the same function object timed out in an earlier check)."""
    message = f"did not return within {seconds:g} s: an infinite loop?"
    if before:
        message = (f"did not return within {seconds:g} s when it was checked before: an "
                   "infinite loop? Fix it and run its cell again (that makes a new "
                   "function), then run this check again.")
    return {"outputs": None, "changed": [], "warnings": [], "stdout": "", "stdout_chars": 0,
            "error": {"type": "Timeout", "message": message, "where": where, "entry": True,
                      "seconds": seconds}}


_timed_out = weakref.WeakKeyDictionary()  # function (or class) -> the limit it exceeded
_timed_out_ids = {}                       # the same, for objects without weak references


def remember_timeout(fn, seconds):
    try:
        _timed_out[fn] = seconds
    except TypeError:
        _timed_out_ids[id(fn)] = (fn, seconds)  # keeps fn alive, so its id stays its own


def timed_out_before(fn):
    """The time limit ``fn`` exceeded in an earlier check, or None."""
    try:
        if fn in _timed_out:
            return _timed_out[fn]
    except TypeError:
        pass
    entry = _timed_out_ids.get(id(fn))
    return entry[1] if entry and entry[0] is fn else None


@contextlib.contextmanager
def time_limit(seconds):
    """Raise CheckTimeout in this thread's code once ``seconds`` have passed.

    On the main thread (where Jupyter runs cells) a SIGALRM timer does it,
    and an earlier timer is restored afterwards. Elsewhere a watchdog thread
    raises the exception asynchronously in this thread (CPython); where
    neither is possible the code runs without a limit.
    """
    if seconds is None or seconds <= 0:
        yield
        return
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "setitimer"):
        with _alarm(seconds):
            yield
    else:
        with _watchdog(seconds):
            yield


@contextlib.contextmanager
def _alarm(seconds):
    def on_alarm(signum, frame):
        raise CheckTimeout()

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, on_alarm)
    old_delay, old_interval = signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
        if old_delay:  # someone else's timer: give it what is left of its time
            left = max(old_delay - (time.monotonic() - started), 1e-3)
            signal.setitimer(signal.ITIMER_REAL, left, old_interval)


@contextlib.contextmanager
def _watchdog(seconds):
    set_async = getattr(getattr(ctypes, "pythonapi", None), "PyThreadState_SetAsyncExc", None)
    if set_async is None:
        yield
        return
    thread_id = ctypes.c_ulong(threading.get_ident())
    lock, state = threading.Lock(), {"active": True}
    stop = threading.Event()

    def watch():
        if stop.wait(seconds):
            return
        while True:
            with lock:
                if not state["active"]:
                    return
                set_async(thread_id, ctypes.py_object(CheckTimeout))
            if stop.wait(0.05):
                return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        with lock:
            state["active"] = False
            set_async(thread_id, ctypes.c_void_p(0))  # drop one not yet delivered
        stop.set()


# --------------------------------------------------------------------------
# Portable values: plain data that survives JSON and means the same thing
# --------------------------------------------------------------------------

def to_portable(value, depth=0):
    """Encode a returned value as JSON-able data, keeping types and shapes.

    Arrays keep dtype and shape (their bytes in base64), numbers stay
    numbers (NaN and inf as text: strict JSON has neither), containers are
    followed MAX_DEPTH levels deep and their first MAX_ITEMS items sent, and
    anything else becomes {"kind": "other", "type": its type name}.
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
        number = float(value)
        return {"kind": "float", "value": number if np.isfinite(number) else repr(number),
                "type": type(value).__name__}
    if value is None:
        return {"kind": "none"}
    if depth < MAX_DEPTH:
        if isinstance(value, (tuple, list)):
            return {"kind": "list" if isinstance(value, list) else "tuple",
                    "items": [to_portable(v, depth + 1) for v in value[:MAX_ITEMS]],
                    "length": len(value)}
        if isinstance(value, dict):
            return {"kind": "dict",
                    "items": [[str(k), to_portable(v, depth + 1)]
                              for k, v in list(value.items())[:MAX_ITEMS]]}
    return {"kind": "other", "type": type(value).__name__}


def from_portable(p):
    """Decode ``to_portable`` data back into arrays, numbers and containers.

    Unknown types come back as an ``Opaque`` holding the type name, and the
    items of a list or tuple past MAX_ITEMS as ``Opaque("not sent")``, so that
    its length is the one returned.
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
        items += [Opaque("not sent")] * (p["length"] - len(items))
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


# --------------------------------------------------------------------------
# Trial inputs as data: how a clean run of the student's code receives them
# --------------------------------------------------------------------------

class SmoothFunction:
    """f(x) = sum(sin(A * x) + B * x**2), a trial's scalar function; callable only
    (its exact gradient stays with the grader)."""

    def __init__(self, A, B):
        self.A, self.B = A, B

    def __call__(self, x):
        return float(np.sum(np.sin(self.A * x) + self.B * x ** 2))


def to_data(value):
    """Encode trial inputs as JSON-able data, in full: arrays, numbers, strings,
    None, containers and SmoothFunction (and its subclasses). ``from_data``
    rebuilds them. Raises TypeError for anything else."""
    if isinstance(value, (list, tuple)):
        return {"kind": "list" if isinstance(value, list) else "tuple",
                "items": [to_data(v) for v in value], "length": len(value)}
    if isinstance(value, dict):
        return {"kind": "dict", "items": [[str(k), to_data(v)] for k, v in value.items()]}
    if isinstance(value, SmoothFunction):
        return {"kind": "smooth-function", "A": to_data(value.A), "B": to_data(value.B)}
    if isinstance(value, str):
        return {"kind": "str", "value": value}
    portable = to_portable(value)
    if portable["kind"] == "other":
        raise TypeError(f"a trial input of type {type(value).__name__} cannot be sent as data")
    return portable


def from_data(data):
    """The values ``to_data`` encoded."""
    kind = data.get("kind")
    if kind == "smooth-function":
        return SmoothFunction(from_data(data["A"]), from_data(data["B"]))
    if kind == "str":
        return str(data["value"])
    if kind in ("tuple", "list"):
        items = [from_data(v) for v in data["items"]]
        return tuple(items) if kind == "tuple" else items
    if kind == "dict":
        return {k: from_data(v) for k, v in data["items"]}
    return from_portable(data)
