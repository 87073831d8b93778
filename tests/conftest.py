"""pytest set-up shared by the unit tests."""


def pytest_sessionstart(session):
    """Start every test session with the grader's caches empty.

    Warning: mutmut runs each mutant's tests in a process forked from one that has
    already run the whole suite. The trials, the reference's answers and the parsed
    Value programs that unmutated code cached there would hide a mutant of the code
    that makes them (docs/testing.md, "Three things mutmut cannot see").
    """
    from bplib.grading import EXERCISES, verdict
    from bplib.grading.exercises import lesson02

    verdict._trials.clear()
    for exercise in EXERCISES.values():
        exercise._expected.clear()
    lesson02._parse_lines.cache_clear()
