"""Automatic checks for the course's exercises.

    check(exercise_id, fn, *, seed=None, timeout=None)
                           -> CheckResult (.passed, .score, .feedback)
    reference(exercise_id) -> the reference implementation
    EXERCISES              -> {exercise id: Exercise (description, signature, points,
                               lesson, requirements, ...)}

A check runs the student's function (or drives the student's class) on
several seeded trials, compares each output with the reference implementation
and with a numerical gradient, checks shapes, dtypes, finiteness and that no
argument was modified, and recognises common mistakes. Every requirement an
exercise states is enforced by named trials (bplib/grading/exercises/, one
module per lesson). The student's code runs under a time limit (5 s unless
the exercise or ``timeout`` says otherwise), and a function that timed out is
not run again. Under nbgrader (NBGRADER_EXECUTION set) check prints its
feedback and displays the points earned, which nbgrader reads as the score.

It is split in two halves so that classroom grading can run them in
different processes: ``run_trials`` calls the student's function and records
portable outputs; ``grade`` judges them.
"""

from bplib.grading.verdict import (DEFAULT_SEED, EXERCISES, CheckResult, check, grade,
                                   make_trials, reference, run_trials)

__all__ = ["check", "reference", "EXERCISES", "CheckResult", "grade", "run_trials",
           "make_trials", "DEFAULT_SEED"]
