"""Classroom batch grading of submitted exercise notebooks: ``bplib grade``.

    from bplib.classroom import run_batch
    result = run_batch(["submissions/"], release_dir="exercises", out="grades", jobs=2)
    result.exit_status   # 0 when every submission was graded, whatever the scores

Each submission runs in its own fresh Jupyter kernel, rebuilt from the
instructor's released notebook (checks and locked cells as released, the
student's solution cells and extra cells in the released order), for the
feedback page. The scores come from a clean run of the answer cells alone,
where bplib's reference cannot be reached, on trials made here from a secret
seed; ``bplib.grading.grade`` judges them here. Both run in a sandbox
(bubblewrap) where it exists. A static scan flags code that uses bplib's
reference implementations early (those exercises score 0).

Modules: ``assemble`` (release, matching, the notebook that runs), ``scan``
(the static scan), ``sandbox`` (bubblewrap cages), ``kernel`` (kernels and time
limits), ``clean_run`` (the answer cells alone, where scores come from), ``submission`` (one
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
