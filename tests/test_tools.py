"""The maintainers' tools in tools/ (mutation testing: docs/testing.md).

Not in mutmut's test selection: these tests read the source tree, which mutmut's
copy in mutants/ does not hold.
"""

import importlib.util
from pathlib import Path


def test_importing_the_grader_calls_only_three_functions_of_its_own():
    """mutmut cannot judge code that runs at import (tools/mutmut_at_import.py does):
    the exercise modules keep it to three small factories. A new one belongs in
    docs/testing.md's list, or, better, in a function called while grading."""
    path = Path(__file__).resolve().parent.parent / "tools" / "mutmut_at_import.py"
    spec = importlib.util.spec_from_file_location("mutmut_at_import", path)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.import_time_functions() == {
        ("bplib.grading.exercises.lesson02", "x__variant"),
        ("bplib.grading.exercises.lesson05", "x__dense_layer_variant"),
        ("bplib.grading.exercises.lesson06", "x__elementwise_requirements")}
