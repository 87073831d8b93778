"""pytest set-up shared by the unit tests."""

import os

import pytest


@pytest.fixture(autouse=True)
def _grader_caches_emptied_under_mutmut():
    """Under mutmut (MUTANT_UNDER_TEST set), every test starts with the grader's
    caches empty.

    Warning: the grader caches what is slow to make (an exercise's trials for a
    seed, the reference's answers to the Value trials, parsed Value programs). In
    one process, only the first test to ask made them: mutmut would map only that
    test to the code that makes them, and its workers, forked from a process that
    has run the whole suite, would never run a mutant of that code for the seeds
    cached (docs/testing.md, "Three things mutmut cannot see").
    """
    if os.environ.get("MUTANT_UNDER_TEST"):
        from bplib.grading import EXERCISES, verdict
        from bplib.grading.exercises import lesson02

        verdict._trials.clear()
        for exercise in EXERCISES.values():
            exercise._expected.clear()
        lesson02._parse_lines.cache_clear()
    yield
