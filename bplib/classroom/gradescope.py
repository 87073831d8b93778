"""Gradescope's autograder zip: ``bplib gradescope RELEASE_DIR --out autograder.zip``.

Gradescope unpacks the zip into ``/autograder/source/``, runs ``setup.sh`` once
(as root, when it builds the autograder's image) and ``run_autograder`` for
every submission. The zip holds, at its top level:

    setup.sh              installs Python, bplib's dependencies (from PyPI),
                          bplib itself (from the wheel below, ``--no-index``)
                          and the python3 Jupyter kernel
    run_autograder        grades $AUTOGRADER_ROOT/submission/ into
                          $AUTOGRADER_ROOT/results/results.json
    requirements.txt      bplib's dependencies
    bplib-<v>-py3-none-any.whl   the bplib that made the zip
    release/              the released exercise notebooks
    settings.json         the secret seed, drawn when the zip is made, and time limits

``run_autograder`` grades with ``bplib grade``'s own grader (``run_batch``),
every uploaded notebook as one student's, in the sandbox when bubblewrap can
run. ``python -m bplib.classroom.gradescope ROOT`` is what it calls.
"""

import base64
import hashlib
import io
import json
import secrets
import sys
import tempfile
import zipfile
from pathlib import Path
from time import monotonic

from bplib.classroom.assemble import load_release

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image.
set -euo pipefail
cd "$(dirname "$0")"
root="${AUTOGRADER_ROOT:-/autograder}"
apt-get update
apt-get install -y python3 python3-venv python3-pip bubblewrap
python3 -m venv "$root/venv"
# bplib's dependencies come from PyPI; bplib itself from this zip, never from the network
"$root/venv/bin/pip" install -r requirements.txt
"$root/venv/bin/pip" install --no-index --no-deps ./{wheel}
# the kernel the submissions run in: this environment's Python
"$root/venv/bin/python" -m ipykernel install --sys-prefix --name python3
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades $AUTOGRADER_ROOT/submission/
# and writes $AUTOGRADER_ROOT/results/results.json (BPLIB_PYTHON: a Python with bplib).
export AUTOGRADER_ROOT="${AUTOGRADER_ROOT:-/autograder}"
"${BPLIB_PYTHON:-$AUTOGRADER_ROOT/venv/bin/python}" -m bplib.classroom.gradescope \\
    "$AUTOGRADER_ROOT" || true
if [ ! -s "$AUTOGRADER_ROOT/results/results.json" ]; then
    mkdir -p "$AUTOGRADER_ROOT/results"
    echo '{"score": 0, "output": "The autograder could not run: tell your instructor."}' \\
        > "$AUTOGRADER_ROOT/results/results.json"
fi
"""

FAILED = "The autograder could not run ({}). Please tell your instructor."


class GradescopeError(Exception):
    """A problem with the command's arguments (no release)."""


# --------------------------------------------------------------------------
# Making the zip
# --------------------------------------------------------------------------

def build_autograder(release_dir, out, *, seed=None, cell_timeout=60, notebook_timeout=600):
    """Write the autograder zip; returns (the released notebooks, the seed)."""
    release = load_release(release_dir)
    if not release:
        raise GradescopeError(f"no released exercise notebook with checks in {release_dir}/")
    seed = secrets.randbelow(2**32) if seed is None else seed
    wheel_name, wheel = bplib_wheel()
    settings = {"seed": seed, "timeout": cell_timeout, "notebook_timeout": notebook_timeout,
                "release": [r.name for r in release]}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        _add(z, "setup.sh", SETUP_SH.replace("{wheel}", wheel_name), executable=True)
        _add(z, "run_autograder", RUN_AUTOGRADER, executable=True)
        _add(z, "requirements.txt", "\n".join(_dependencies()) + "\n")
        _add(z, wheel_name, wheel)
        _add(z, "settings.json", json.dumps(settings, indent=1) + "\n")
        for released in release:
            _add(z, f"release/{released.name}", released.path.read_bytes())
    return release, seed


def _add(z, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = (0o100755 if executable else 0o100644) << 16
    z.writestr(info, data)


def _dependencies():
    """bplib's own requirements (not its extras')."""
    from importlib.metadata import PackageNotFoundError, requires

    try:
        return [r for r in requires("bplib") or [] if "extra ==" not in r]
    except PackageNotFoundError:  # bplib run from a folder, not installed
        return ["numpy>=1.24", "matplotlib>=3.7", "ipywidgets>=8.0", "nbformat>=5.9",
                "nbclient>=0.8", "ipykernel>=6.25"]


def bplib_wheel():
    """(file name, bytes) of a wheel of the bplib package this runs from.

    A wheel is a zip of the package's files with a ``.dist-info`` folder
    (METADATA, WHEEL, entry points and a RECORD of every file's hash); this
    writes one from the imported package, so no build tool is needed.
    """
    import bplib

    version = bplib.__version__
    package = Path(bplib.__file__).parent
    info = f"bplib-{version}.dist-info"
    files = {}
    for path in sorted(package.rglob("*")):
        inside = path.relative_to(package).parts
        # bplib/course/ (a wheel-installed course) holds the solutions: never ship them
        # into the container where students' code runs.
        if path.is_file() and inside[0] != "course" and "__pycache__" not in inside \
                and path.suffix != ".pyc":
            files[f"bplib/{path.relative_to(package).as_posix()}"] = path.read_bytes()
    requires = "".join(f"Requires-Dist: {r}\n" for r in _dependencies())
    files[f"{info}/METADATA"] = (f"Metadata-Version: 2.1\nName: bplib\nVersion: {version}\n"
                                 f"Requires-Python: >=3.10\n{requires}").encode()
    files[f"{info}/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: bplib gradescope\n"
                              b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    files[f"{info}/entry_points.txt"] = b"[console_scripts]\nbplib = bplib.__main__:main\n"
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            _add(z, name, data)
    return f"bplib-{version}-py3-none-any.whl", buffer.getvalue()


def _digest(data):
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


# --------------------------------------------------------------------------
# Grading one submission, in Gradescope's container
# --------------------------------------------------------------------------

def run_autograder(root="/autograder"):
    """Grade ROOT/submission/ with the zip's release and seed; write
    ROOT/results/results.json. Never raises: a failure is a results file too."""
    root = Path(root)
    started = monotonic()
    results = root / "results" / "results.json"
    try:
        data = _grade(root)
    except Exception as exc:  # Gradescope must still get a results file
        data = {"score": 0, "output": FAILED.format(f"{type(exc).__name__}: {exc}"),
                "tests": []}
    data["execution_time"] = round(monotonic() - started)
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(json.dumps(data, indent=1, allow_nan=False), encoding="utf-8")
    return data


def _grade(root):
    from bplib.classroom import sandbox as sandboxes
    from bplib.classroom.batch import run_batch
    from bplib.classroom.report import clean

    source = root / "source"
    settings = json.loads((source / "settings.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory(prefix="bplib-gradescope-") as out:
        # bubblewrap when it can run here; the zip's folder (and its seed) out of sight
        sandbox = sandboxes.choose("auto", hidden=[source, out])
        with sandboxes.using(sandbox):
            run_batch([root / "submission"], release_dir=source / "release", out=out, jobs=1,
                      cell_timeout=settings["timeout"],
                      total_timeout=settings["notebook_timeout"], seed=settings["seed"],
                      force=True, student="submission", progress_stream=sys.stdout)
        data = json.loads((Path(out) / "results" / "submission.json").read_text())
    ours = data["extra_data"]["bplib"]
    ours.pop("files", None)  # the container's paths: of no use
    ours["sandbox"] = sandbox.describe()
    return clean(data)


if __name__ == "__main__":
    run_autograder(sys.argv[1] if len(sys.argv) > 1 else "/autograder")
