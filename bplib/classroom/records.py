"""What grading writes down: one record per exercise, one per submitted notebook.

A ``NotebookRecord`` is built by ``NotebookRecord.new`` (every exercise of its
released notebook at 0 points, not yet run), filled in by the grading steps,
written with ``to_json`` (into ``results/<student>.json`` and
``results.json``) and read back with ``from_json`` when a batch resumes.
"""

from dataclasses import asdict, dataclass, field, fields

# A notebook's status
GRADED, TIMEOUT, KERNEL_DIED = "graded", "timeout", "kernel-died"
INVALID, UNMATCHED, GRADER_ERROR = "invalid-notebook", "unmatched", "grader-error"
MISSING = "missing"  # a released notebook the student did not submit


@dataclass
class ExerciseRecord:
    """One exercise of a notebook: its points and what the check said."""

    exercise: str
    max_points: float
    points: float = 0.0
    # the check's "passed", "failed" or "not attempted"; else why it has no verdict:
    # "not run", "timeout", "error", "missing" (no such function), "not submitted",
    # "uses-reference" (then check_status keeps what the check said)
    status: str = "not run"
    score: float = 0.0           # 0 to 1, the check's
    feedback: str = ""
    flagged: list = field(default_factory=list)  # reference implementations used
    trials: list = field(default_factory=list)   # the check's verdict per trial
    check_status: str = None

    def to_json(self):
        data = asdict(self)
        if self.check_status is None:
            del data["check_status"]
        return data


@dataclass
class CellError:
    """An error raised by a cell while the notebook ran."""

    cell: int      # 1-based, in the student's notebook; None for a released cell
    code: str      # the cell's first line
    error: str
    yours: bool = True


@dataclass
class NotebookRecord:
    """One student's notebook (or a released notebook they did not submit)."""

    student: str
    notebook: str            # the released notebook's file name (else the file's)
    submission: str          # the graded file ("" when missing)
    status: str
    message: str = ""
    flags: list = field(default_factory=list)
    exercises: list = field(default_factory=list)    # ExerciseRecord
    cell_errors: list = field(default_factory=list)  # CellError
    notes: list = field(default_factory=list)        # uses that cost nothing
    timing: dict = field(default_factory=dict)       # seconds per step
    seed: int = None
    traceback: str = None    # the grader's own failure (status grader-error)

    @classmethod
    def new(cls, student, notebook, submission, status, message="", released=None,
            exercise_status="not run"):
        """A record with every exercise of ``released`` at 0 points."""
        exercises = []
        if released is not None:
            reason = "not submitted" if status == MISSING else f"not graded ({message})"
            exercises = [ExerciseRecord(c.exercise_id, c.points, status=exercise_status,
                                        feedback=f"{c.exercise_id}: {reason}.")
                         for c in released.checks]
        return cls(str(student), notebook, str(submission), status, message,
                   exercises=exercises)

    @property
    def total(self):
        return round(sum(e.points for e in self.exercises), 4)

    @property
    def max_points(self):
        return round(sum(e.max_points for e in self.exercises), 4)

    def to_json(self):
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["exercises"] = [e.to_json() for e in self.exercises]
        data["cell_errors"] = [asdict(e) for e in self.cell_errors]
        data["total"], data["max"] = self.total, self.max_points
        if self.traceback is None:
            del data["traceback"]
        return data

    @classmethod
    def from_json(cls, data):
        known = {f.name for f in fields(cls)}
        record = cls(**{k: v for k, v in data.items() if k in known})
        record.exercises = [ExerciseRecord(**e) for e in record.exercises]
        record.cell_errors = [CellError(**e) for e in record.cell_errors]
        return record
