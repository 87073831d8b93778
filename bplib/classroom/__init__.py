"""Classroom batch grading of submitted exercise notebooks: ``bplib grade``.

    from bplib.classroom import run_batch
    result = run_batch(["submissions/"], release_dir="exercises", out="grades", jobs=2)
    result.exit_status   # 0 when every submission was graded, whatever the scores

Each submission runs in its own fresh Jupyter kernel, rebuilt from the
instructor's released notebook (checks and locked cells as released, the
student's solution cells and extra cells in the released order); the
student's functions are called there by ``bplib.grading.run_trials`` with a
secret seed, and judged here by ``bplib.grading.grade``. A static scan flags
code that uses bplib's reference implementations (those exercises score 0).

Modules: ``assemble`` (release, matching, the notebook that runs), ``scan``
(the static scan), ``run`` (kernels and time limits), ``submission`` (one
notebook, as a pipeline of steps), ``records`` (what grading writes down),
``batch`` (many, resumable), ``report`` (gradebook.csv, students.csv,
results.json, Gradescope results, feedback pages), ``gradescope`` (the
autograder zip) and ``progress`` (a student's own table).
"""

from bplib.classroom.batch import BatchError, BatchResult, discover, run_batch
from bplib.classroom.records import ExerciseRecord, NotebookRecord
from bplib.classroom.submission import grade_notebook

__all__ = ["run_batch", "BatchResult", "BatchError", "discover", "grade_notebook",
           "NotebookRecord", "ExerciseRecord"]
