"""The forbidden objects of bplib, by identity, and how to reach them by path.

A *path* is what a student's expression names, rooted at a module:
``("bplib", ("attr", "functional"), ("attr", "relu_backward"))`` for
``F.relu_backward`` after ``from bplib import functional as F``; items are
``("item", key)`` and a computed attribute (``getattr(F, name)``) is
``("any",)``. ``Catalogue.resolve`` turns a path into the real object, in
the grader's process, importing nothing but bplib's own modules, and
``Catalogue.lookup`` says whether that object is forbidden, under its
canonical name, and which exercises it hands over.

Forbidden: ``bplib.models``, ``bplib.nn``, ``bplib.grading.exercises``,
``bplib.grading.verdict`` (but ``check``, ``grade``, ``run_trials``,
``make_trials``, ``CheckResult`` and ``DEFAULT_SEED`` are allowed), every
backward function and loss gradient in ``bplib.functional``, every function
of ``bplib.gradcheck`` but ``describe_error`` (they compute numerical
gradients), and every exercise's reference. Forward functions
(``bplib.functional.softmax``) are allowed.
"""

import importlib
import inspect
import types
from pathlib import Path

from bplib.grading.cells import parse_cell  # noqa: F401 (scan's import)

EVERY = "*"  # in a catalogue entry's gives: every exercise

_ALLOWED_GRADING = {"check", "grade", "run_trials", "make_trials", "CheckResult", "DEFAULT_SEED"}
_ALLOWED_GRADCHECK = {"describe_error"}
_FORBIDDEN_MODULES = ("bplib.models", "bplib.nn", "bplib.grading.exercises",
                      "bplib.grading.verdict")
_FORBIDDEN_FUNCTIONAL = {"softmax_jacobian", "mse_loss", "binary_cross_entropy",
                         "binary_cross_entropy_with_logits", "softmax_cross_entropy",
                         "cross_entropy"}

# --------------------------------------------------------------------------
# The catalogue of forbidden objects, by identity
# --------------------------------------------------------------------------

class Catalogue:
    """bplib's modules and the forbidden objects among their contents."""

    def __init__(self):
        import bplib
        from bplib.grading import EXERCISES, verdict

        self.modules = _module_names(bplib)
        self._by_id = {}   # id(obj) -> (name, gives)
        self._alive = []   # keeps the catalogued objects (and so their ids) alive
        # The exercise package's lesson modules (trials, numerical gradients,
        # references) are as forbidden as the package itself.
        exercise_modules = sorted(m for m in self.modules
                                  if m.startswith("bplib.grading.exercises."))
        for module_name in (*_FORBIDDEN_MODULES, *exercise_modules):
            module = importlib.import_module(module_name)
            self._add(module, module_name, ())
            for attr, value in vars(module).items():
                if attr.startswith("__") or isinstance(value, types.ModuleType):
                    continue
                if module_name == "bplib.grading.verdict" and attr in _ALLOWED_GRADING:
                    continue
                defined_here = callable(value) and \
                    getattr(value, "__module__", None) == module_name
                if defined_here or isinstance(value, (dict, list)):
                    self._add(value, f"{module_name}.{attr}", ())
        functional = importlib.import_module("bplib.functional")
        for attr, value in vars(functional).items():
            if callable(value) and (attr.endswith("_backward") or attr in _FORBIDDEN_FUNCTIONAL):
                self._add(value, f"bplib.functional.{attr}", ())
        # Every function of bplib.gradcheck computes numerical gradients (or, for
        # relative_error, is an exercise's reference), but describe_error, which
        # only words a number: found by where they are defined, so a renamed
        # helper cannot slip through.
        gradcheck = importlib.import_module("bplib.gradcheck")
        for attr, value in vars(gradcheck).items():
            if attr in _ALLOWED_GRADCHECK:
                continue
            if inspect.isfunction(value) and value.__module__ == "bplib.gradcheck":
                self._add(value, f"bplib.gradcheck.{attr}", ())
        for exercise_id, exercise in EXERCISES.items():
            ref = exercise.reference
            name = f"{getattr(ref, '__module__', '?')}.{getattr(ref, '__qualname__', exercise_id)}"
            self._add(ref, name, {exercise_id})
        self._by_id.pop(id(verdict.reference), None)
        self._add(verdict.reference, "bplib.grading.reference", {EVERY})
        self.reference_fn = verdict.reference
        self.exercises = set(EXERCISES)

    def _add(self, obj, name, gives):
        """Catalogue an object; the first name given to it is kept, gives accumulate."""
        self._alive.append(obj)
        old_name, old_gives = self._by_id.get(id(obj), (name, frozenset()))
        self._by_id[id(obj)] = (old_name, old_gives | frozenset(gives))

    def lookup(self, obj):
        """(canonical name, gives) of a forbidden object, else None."""
        return self._by_id.get(id(obj))

    def forbidden_members(self, container):
        """The forbidden objects reachable by one attribute or item of a container."""
        if isinstance(container, types.ModuleType):
            values = list(vars(container).values())
            prefix = container.__name__
        elif isinstance(container, dict):
            values, prefix = list(container.values()), "?"
        else:
            return []
        found = [self.lookup(v) for v in values]
        return [(name, gives) for name, gives in (f for f in found if f)] or \
               ([(prefix, frozenset())] if self.lookup(container) else [])

    # ---- paths: ("bplib", ("attr", "functional"), ("item", "x"), ("any",)) ----

    def resolve(self, path):
        """The object a path names, or None; imports only bplib's own modules."""
        root, steps = path[0], list(path[1:])
        if root != "bplib":
            return None
        obj, name = importlib.import_module("bplib"), "bplib"
        for step in steps:
            if step[0] == "any":
                return AnyMember(obj)
            key = step[1]
            if key == "__dict__":
                obj = vars(obj) if hasattr(obj, "__dict__") else _MISSING
            elif isinstance(obj, types.ModuleType) and isinstance(key, str):
                candidate = f"{name}.{key}"
                if candidate in self.modules:
                    obj, name = importlib.import_module(candidate), candidate
                    continue
                obj = vars(obj).get(key, _MISSING)
            elif step[0] == "item" and isinstance(obj, (dict, list, tuple)):
                try:
                    obj = obj[key]
                except (KeyError, IndexError, TypeError):
                    obj = _MISSING
            elif step[0] == "attr" and isinstance(key, str) and _safe_to_read(obj):
                obj = _static_attr(obj, key)
            else:
                obj = _MISSING
            if obj is _MISSING:
                return None
            name = f"{name}.{key}"
        return obj


def _module_names(package):
    """Every module name of a package, from its files (importing nothing)."""
    root = Path(package.__file__).parent
    names = {package.__name__}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if all(p.isidentifier() for p in parts):
            names.add(".".join((package.__name__,) + parts))
    return names


class AnyMember:
    """A dynamic attribute or item of a container: getattr(F, name)."""

    def __init__(self, container):
        self.container = container


_MISSING = object()


def normalize(path):
    """sys.modules["bplib.x"]... as the module's own path."""
    steps = path[1:]
    if path[0] == "sys" and len(steps) >= 2 and steps[0] == ("attr", "modules") \
            and steps[1][0] == "item" and isinstance(steps[1][1], str):
        return module_path(steps[1][1]) + tuple(steps[2:])
    return path


def _safe_to_read(obj):
    return isinstance(obj, (type, types.FunctionType, dict)) or \
        type(obj).__module__.startswith("bplib")


def _static_attr(obj, key):
    try:
        return inspect.getattr_static(obj, key)
    except AttributeError:
        return _MISSING


_CATALOGUE = None


def catalogue():
    global _CATALOGUE
    if _CATALOGUE is None:
        _CATALOGUE = Catalogue()
    return _CATALOGUE


def module_path(dotted):
    parts = dotted.split(".")
    return (parts[0],) + tuple(("attr", p) for p in parts[1:])
