"""What a batch writes: the gradebook, the students' totals, results.json,
Gradescope results and one feedback page per student.

``results/<student>.json`` is written as soon as a student is graded; it is
in Gradescope's autograder format, with the grader's full record of every
notebook and the hash of every file graded under ``extra_data.bplib``, and it
is what a resumed batch reads back. ``gradebook.csv``, ``students.csv`` and
``results.json`` are rebuilt from those records.
"""

import csv
import datetime
import html
import io
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bplib.classroom.records import GRADED, NotebookRecord

FORMAT = "bplib-classroom/1"


def safe_name(student):
    """A student id usable as a file name."""
    name = re.sub(r"[^\w.@+-]", "_", str(student)).strip(".") or "_"
    return name[:120]


def clean(value):
    """JSON-safe: non-finite floats become None (results must be strict JSON)."""
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    return value


def _atomic_write(path, text):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------
# Per student
# --------------------------------------------------------------------------

def _test_status(entry):
    return "passed" if entry.points >= entry.max_points > 0 else "failed"


def gradescope_name(notebook, exercise):
    """A Gradescope test's name, the same whatever was uploaded."""
    return f"{Path(notebook).stem}: {exercise}"


def gradescope(student, records, seed, files=None):
    """Gradescope's results.json for one student's records."""
    tests, lines = [], []
    for record in records:
        for entry in record.exercises:
            tests.append({"name": gradescope_name(record.notebook, entry.exercise),
                          "score": entry.points, "max_score": entry.max_points,
                          "status": _test_status(entry), "output": entry.feedback,
                          "visibility": "visible"})
        lines.append(_summary_line(record))
        lines += [f"  {_describe_error(e)}" for e in record.cell_errors]
    return {"score": round(sum(r.total for r in records), 4),
            "output": "\n".join(lines), "output_format": "text", "visibility": "visible",
            "tests": tests,
            "extra_data": {"bplib": {"format": FORMAT, "student": student, "seed": seed,
                                     "files": files or {},
                                     "records": [r.to_json() for r in records]}}}


def _summary_line(record):
    text = f"{record.notebook}: {record.total:g} / {record.max_points:g} points"
    if record.status != GRADED:
        text += f" ({record.status}: {record.message})"
    duplicates = [f.split(":", 1)[1] for f in record.flags if f.startswith("duplicate:")]
    if duplicates:
        text += f"; graded {Path(record.submission).name}, not {', '.join(duplicates)}"
    return text


def _describe_error(error):
    where = f"Cell {error.cell}" if error.cell else "A cell of the released notebook"
    code = f" (`{error.code}`)" if error.code else ""
    return f"{where}{code}: {error.error}"


def write_student(out, student, records, seed, files=None):
    """results/<student>.json and feedback/<student>.html. ``files``: {path: sha256}
    of what the student submitted."""
    name = safe_name(student)
    _atomic_write(Path(out) / "results" / f"{name}.json",
                  json.dumps(clean(gradescope(student, records, seed, files)), indent=1,
                             allow_nan=False))
    _atomic_write(Path(out) / "feedback" / f"{name}.html", feedback_html(student, records))


@dataclass
class StudentResults:
    """What a results file says about one student."""

    student: str
    records: list   # NotebookRecord
    seed: int
    files: dict     # {path: sha256} of the files graded


def read_student(path):
    """The StudentResults of a results file, or None if it is not ours."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        ours = data["extra_data"]["bplib"]
        if ours.get("format") != FORMAT:
            return None
        return StudentResults(ours["student"],
                              [NotebookRecord.from_json(r) for r in ours["records"]],
                              ours.get("seed"), ours.get("files", {}))
    except (OSError, ValueError, KeyError, TypeError):
        return None


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 860px; margin: 2em auto; padding: 0 1em;
       color: #212121; line-height: 1.45; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border-bottom: 1px solid #ddd; padding: 4px 12px; text-align: left; }
.passed { color: #2e7d32; } .failed, .bad { color: #c62828; } .other { color: #616161; }
.box { border-left: 5px solid #9e9e9e; background: #f5f5f5; padding: 6px 12px; margin: 1em 0; }
.box.passed { border-color: #2e7d32; background: #e8f5e9; color: inherit; }
.box.failed { border-color: #c62828; background: #ffebee; color: inherit; }
pre { white-space: pre-wrap; margin: 0.3em 0 0 0; font-size: 0.92em; }
"""


def _css_class(entry):
    if entry.status == "passed":
        return "passed"
    return "failed" if entry.status in ("failed", "uses-reference", "timeout") else "other"


def feedback_html(student, records):
    """A page the student can read: what passed, what failed, and the hints."""
    e = html.escape
    total = sum(r.total for r in records)
    out = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
           f"<title>Feedback for {e(str(student))}</title><style>{_STYLE}</style></head><body>",
           f"<h1>Feedback for {e(str(student))}</h1>",
           f"<p>Total: <b>{total:g}</b> of {sum(r.max_points for r in records):g} points.</p>"]
    for record in records:
        out.append(f"<h2>{e(record.notebook)}: {record.total:g} / {record.max_points:g}</h2>")
        if record.status != GRADED:
            out.append(f"<p class='bad'><b>{e(record.status)}</b>: {e(record.message)}</p>")
        duplicates = [f.split(":", 1)[1] for f in record.flags if f.startswith("duplicate:")]
        if duplicates:
            out.append(f"<p class='other'>Graded {e(Path(record.submission).name)}; not "
                       f"{e(', '.join(duplicates))}, which answers the same notebook.</p>")
        if record.exercises:
            out.append("<table><tr><th>Exercise</th><th>Points</th><th>Result</th></tr>")
            for entry in record.exercises:
                out.append(f"<tr><td><a href='#{e(entry.exercise)}'>{e(entry.exercise)}"
                           f"</a></td><td>{entry.points:g} / {entry.max_points:g}</td>"
                           f"<td class='{_css_class(entry)}'>{e(entry.status)}</td></tr>")
            out.append("</table>")
        for entry in record.exercises:
            out.append(f"<div class='box {_css_class(entry)}' id='{e(entry.exercise)}'>"
                       f"<b>{e(entry.exercise)}</b> ({entry.points:g} / "
                       f"{entry.max_points:g})<pre>{e(entry.feedback)}</pre></div>")
        if record.cell_errors:
            out.append("<p>Errors while your notebook ran (cells numbered from the top of "
                       "your notebook):</p><ul>")
            out += [f"<li>{e(_describe_error(err))}</li>" for err in record.cell_errors]
            out.append("</ul>")
        if any(f.startswith(("restored-cells", "edited-locked-cells", "deleted-locked-cells"))
               for f in record.flags):
            out.append("<p class='other'>The checks and locked cells were run as released: "
                       "changes to them, and missing cells, make no difference to the grade.</p>")
    out.append("</body></html>")
    return "\n".join(out)


# --------------------------------------------------------------------------
# The whole batch
# --------------------------------------------------------------------------

def exercise_columns(records, release):
    """Exercise ids in the release's order, those of the graded notebooks first."""
    seen = {e.exercise for r in records for e in r.exercises}
    ordered = [c.exercise_id for r in release for c in r.checks if c.exercise_id in seen]
    return list(dict.fromkeys(ordered + sorted(seen - set(ordered))))


COLUMNS_BEFORE = ["student", "notebook"]
COLUMNS_AFTER = ["total", "max", "status", "flags", "message"]
STUDENT_COLUMNS_AFTER = ["total", "max", "flags"]


def gradebook_csv(records, release):
    """One row per (student, notebook): the points of each exercise."""
    columns = exercise_columns(records, release)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS_BEFORE + columns + COLUMNS_AFTER)
    for record in records:
        points = {e.exercise: f"{e.points:g}" for e in record.exercises}
        writer.writerow([record.student, record.notebook]
                        + [points.get(c, "") for c in columns]
                        + [f"{record.total:g}", f"{record.max_points:g}", record.status,
                           ";".join(record.flags), record.message])
    return buffer.getvalue()


def students_csv(records, release):
    """One row per student: the points of each released notebook, the total, the
    maximum (every released notebook's points), and the flags (the notebooks'
    flags, and ``<status>:<notebook>`` for a notebook not graded)."""
    by_student = {}
    for record in records:
        by_student.setdefault(record.student, []).append(record)
    maximum = sum(r.max_points for r in release)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["student"] + [r.name for r in release] + STUDENT_COLUMNS_AFTER)
    for student, theirs in by_student.items():
        points = {r.name: sum(x.total for x in theirs if x.notebook == r.name) for r in release}
        flags = [f for r in theirs for f in r.flags]
        flags += [f"{r.status}:{r.notebook}" for r in theirs if r.status != GRADED]
        writer.writerow([student] + [f"{points[r.name]:g}" for r in release]
                        + [f"{sum(r.total for r in theirs):g}", f"{maximum:g}",
                           ";".join(dict.fromkeys(flags))])
    return buffer.getvalue()


def write_batch(out, records, release, seed, release_dir):
    records = sorted(records, key=lambda r: (r.student, r.notebook, r.submission))
    _atomic_write(Path(out) / "gradebook.csv", gradebook_csv(records, release))
    _atomic_write(Path(out) / "students.csv", students_csv(records, release))
    statuses = {}
    for record in records:
        statuses[record.status] = statuses.get(record.status, 0) + 1
    from bplib import __version__
    summary = {"format": FORMAT, "bplib_version": __version__, "seed": seed,
               "release": str(release_dir),
               "written": datetime.datetime.now(datetime.timezone.utc).isoformat(
                   timespec="seconds"),
               "exercises": exercise_columns(records, release), "statuses": statuses,
               "submissions": [r.to_json() for r in records]}
    _atomic_write(Path(out) / "results.json",
                  json.dumps(clean(summary), indent=1, allow_nan=False))
