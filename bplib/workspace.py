"""Where the course lives, and the student's own copy of it: the workspace.

The course is three folders, ``notebooks/`` (the lessons), ``exercises/`` and
``solutions/`` (the self-study answers), and the README the lessons link to. They live

- in a git checkout, at the top of the checkout (the one copy in git);
- in an installed wheel, in the package itself, at ``bplib/course/`` (``setup.py``
  copies them there when the wheel is built);
- anywhere else when the environment variable ``BPLIB_COURSE`` names a folder
  holding them (an instructor's own version of the course, or a test standing in
  for a new release).

A workspace is the student's own copy, made by ``bplib lab`` (default
``./bplib-course``). Its manifest, ``.bplib-manifest.json``, records what was
copied: for each file the hash of its content as shipped (for a notebook, the
hash of its cells' sources, so running a notebook does not count as editing it).
``update_workspace`` brings in new and changed files; a file whose content no
longer matches the manifest is the student's work and is never overwritten: the
new version is written beside it.
"""

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import bplib

COURSE_FOLDERS = ("notebooks", "exercises", "solutions")
COURSE_FILES = ("README.md",)  # the lessons link to it
COURSE_ENV = "BPLIB_COURSE"
DEFAULT_WORKSPACE = "bplib-course"
MANIFEST = ".bplib-manifest.json"
START_HERE = "notebooks/00_start_here.ipynb"
_SKIPPED = (".ipynb_checkpoints", "__pycache__")


def packaged_course():
    """The course inside the installed package (bplib/course/), or None in a checkout."""
    course = Path(bplib.__file__).resolve().parent / "course"
    return course if (course / "notebooks").is_dir() else None


def checkout_root():
    """The git checkout bplib is imported from (editable install), or None."""
    root = Path(bplib.__file__).resolve().parent.parent
    if (root / "notebooks").is_dir() and (root / "pyproject.toml").is_file():
        return root
    return None


def course_dir():
    """The course to copy from: $BPLIB_COURSE, else the packaged course, else the checkout.

    Raises FileNotFoundError, saying where it looked, when there is none.
    """
    override = os.environ.get(COURSE_ENV)
    if override:
        course = Path(override).expanduser().resolve()
        if not (course / "notebooks").is_dir():
            raise FileNotFoundError(f"{COURSE_ENV}={override} holds no notebooks/ folder")
        return course
    course = packaged_course() or checkout_root()
    if course is None:
        raise FileNotFoundError(
            f"bplib {bplib.__version__} carries no course: expected the lessons in "
            f"{Path(bplib.__file__).resolve().parent / 'course'} (an installed wheel) or "
            f"next to the package (a checkout); reinstall bplib from a wheel or a checkout")
    return course


def find_workspace(start=None):
    """The workspace holding folder ``start`` (default: here), else ./bplib-course, else None."""
    start = Path(start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / MANIFEST).is_file():
            return folder
    default = start / DEFAULT_WORKSPACE
    return default if (default / MANIFEST).is_file() else None


def default_exercises_dir():
    """The exercises to look at: the student's workspace's, else the course's own."""
    workspace = find_workspace()
    if workspace is not None:
        return workspace / "exercises"
    return course_dir() / "exercises"


def solution_folders():
    """Every solutions/ folder this bplib knows of, for a grader to hide from students' code:
    the installed package's (bplib/course/solutions), the checkout's, $BPLIB_COURSE's, and
    that of the workspace holding the current folder. Existing folders only, resolved."""
    courses = [packaged_course(), checkout_root(), find_workspace()]
    if os.environ.get(COURSE_ENV):
        courses.append(Path(os.environ[COURSE_ENV]).expanduser())
    found = []
    for course in courses:
        if course is not None and (course / "solutions").is_dir():
            folder = (course / "solutions").resolve()
            if folder not in found:
                found.append(folder)
    return found


def content_hash(path):
    """sha256 of what a student could have edited: a notebook's cell types and sources,
    any other file's bytes. Outputs and execution counts do not count."""
    path = Path(path)
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(data)["cells"]
            data = json.dumps([[cell["cell_type"], "".join(cell["source"])]
                               for cell in cells]).encode()
        except (ValueError, KeyError, TypeError):
            pass  # not a readable notebook: compare its bytes
    return hashlib.sha256(data).hexdigest()


def course_files(course):
    """The course's files as relative POSIX paths: the README, lessons, exercises, solutions."""
    course = Path(course)
    files = [name for name in COURSE_FILES if (course / name).is_file()]
    for folder in COURSE_FOLDERS:
        for path in sorted((course / folder).rglob("*")):
            relative = path.relative_to(course)
            if path.is_file() and not any(part in _SKIPPED for part in relative.parts):
                files.append(relative.as_posix())
    return files


@dataclass
class UpdateReport:
    """What ``update_workspace`` did, each a list of relative paths."""
    workspace: Path
    added: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    kept: list = field(default_factory=list)  # (student's file, new version beside it)
    unchanged: int = 0

    def lines(self):
        """What happened, one line per file changed, in words for the student."""
        out = [f"added {path}" for path in self.added]
        out += [f"updated {path}" for path in self.updated]
        out += [f"kept your edited {mine}; the new version is beside it: {new}"
                for mine, new in self.kept]
        return out


def read_manifest(workspace):
    """The workspace's record of what was copied; an unreadable one records nothing, so
    that every file differing from the course counts as the student's and is kept."""
    try:
        manifest = json.loads((Path(workspace) / MANIFEST).read_text(encoding="utf-8"))
        return manifest if isinstance(manifest.get("files"), dict) else {"files": {}}
    except (OSError, ValueError, AttributeError):
        return {"files": {}}


def _write_manifest(workspace, course, files):
    manifest = {"bplib_version": bplib.__version__, "course": str(course), "files": files}
    (Path(workspace) / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True)
                                            + "\n", encoding="utf-8")


def _beside(target):
    """A free name beside ``target`` for the new version: NAME.bplib-VERSION[-N].SUFFIX."""
    stem = f"{target.stem}.bplib-{bplib.__version__}"
    candidate, n = target.with_name(stem + target.suffix), 2
    while candidate.exists():
        candidate, n = target.with_name(f"{stem}-{n}{target.suffix}"), n + 1
    return candidate


def update_workspace(workspace, course=None):
    """Copy the course into ``workspace`` (made if missing), never overwriting the student's work.

    For each course file: missing in the workspace -> copied (added); the workspace's copy
    as last shipped (its hash is the manifest's) -> replaced by the new version (updated);
    otherwise the student edited it: it is left alone and, when the course changed it, the
    new version is written beside it (kept). Files the course dropped are left alone.
    Returns an UpdateReport.
    """
    workspace = Path(workspace).resolve()
    course = Path(course).resolve() if course else course_dir()
    if workspace == course:
        raise ValueError(f"the workspace {workspace} is the course itself")
    for folder in COURSE_FOLDERS:
        if workspace.is_relative_to(course / folder):
            raise ValueError(f"the workspace {workspace} is inside the course's {folder}/ "
                             f"folder; choose one outside it")
    workspace.mkdir(parents=True, exist_ok=True)
    shipped = read_manifest(workspace)["files"]
    report, files = UpdateReport(workspace), dict(shipped)
    for relative in course_files(course):
        source, target = course / relative, workspace / relative
        new = content_hash(source)
        files[relative] = new
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
            report.added.append(relative)
            continue
        mine = content_hash(target)
        if mine == new or new == shipped.get(relative):
            report.unchanged += 1  # up to date, or the course did not change it
        elif mine == shipped.get(relative):
            shutil.copyfile(source, target)
            report.updated.append(relative)
        else:
            beside = _beside(target)
            shutil.copyfile(source, beside)
            report.kept.append((relative, beside.relative_to(workspace).as_posix()))
    _write_manifest(workspace, course, files)
    return report


def pending_update(workspace, course=None):
    """Whether the course holds files or versions the workspace has not received."""
    course = Path(course) if course else course_dir()
    shipped = read_manifest(workspace)["files"]
    return any(shipped.get(relative) != content_hash(Path(course) / relative)
               for relative in course_files(course))
