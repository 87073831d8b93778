"""A tiny course for the classroom grader's tests: one solution notebook with
three exercises, its generated exercise (the release), and submissions made
from them, honest and hostile. Independent of the course's own notebooks."""

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from bplib.notebooks import generate_exercise

NAME = "06_activations.ipynb"
EXERCISES = ("relu_backward", "sigmoid_backward", "tanh_backward")

SETUP = "import numpy as np\n\nfrom bplib.grading import check"

RELU = '''def relu_backward(z, dout):
    """dL/dz for relu(z)."""
    ### BEGIN SOLUTION
    return dout * (z > 0)
    ### END SOLUTION'''

SIGMOID = '''def sigmoid_backward(z, dout):
    """dL/dz for sigmoid(z), stable for large |z|."""
    ### BEGIN SOLUTION
    e = np.exp(-np.abs(z))
    s = np.where(z >= 0, 1 / (1 + e), e / (1 + e))
    return dout * s * (1 - s)
    ### END SOLUTION'''

TANH = '''def tanh_backward(z, dout):
    """dL/dz for tanh(z)."""
    ### BEGIN SOLUTION
    t = np.tanh(z)
    return dout * (1 - t ** 2)
    ### END SOLUTION'''

DEMO = ('if check("relu_backward", relu_backward).passed:  # uses a check: ordinary code\n'
        '    z = np.linspace(-2, 2, 5)\n'
        '    print(relu_backward(z, np.ones_like(z)))')


def solution_notebook():
    cells = [new_markdown_cell("# Activations"), new_code_cell(SETUP),
             new_markdown_cell("## ReLU"), new_code_cell(RELU),
             new_code_cell('check("relu_backward", relu_backward)'),
             new_code_cell(DEMO),
             new_markdown_cell("## Sigmoid"), new_code_cell(SIGMOID),
             new_code_cell('check("sigmoid_backward", sigmoid_backward)'),
             new_markdown_cell("## Tanh"), new_code_cell(TANH),
             new_code_cell('check("tanh_backward", tanh_backward)')]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def make_release(root):
    """solutions/ and the generated exercises/ (the release) under root."""
    root = Path(root)
    (root / "solutions").mkdir(parents=True, exist_ok=True)
    solution = root / "solutions" / NAME
    nbformat.write(solution_notebook(), solution)
    generate_exercise(solution, root / "exercises" / NAME)
    return root / "exercises"


def read(path):
    return nbformat.read(path, as_version=4)


def write(nb, path):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def cell_defining(nb, name):
    return next(c for c in nb.cells if c.cell_type == "code" and f"def {name}(" in c.source)


def check_cell(nb, exercise):
    return next(c for c in nb.cells if c.cell_type == "code"
                and c.source.startswith(f'check("{exercise}"'))


def solved(release_dir, wrong=()):
    """The exercise with every stub replaced by its solution (some wrong)."""
    nb = read(Path(release_dir) / NAME)
    bodies = {"relu_backward": RELU, "sigmoid_backward": SIGMOID, "tanh_backward": TANH}
    for exercise, source in bodies.items():
        code = source.replace("    ### BEGIN SOLUTION\n", "").replace("\n    ### END SOLUTION", "")
        # A classic mistake, wrong on every trial whatever the seed: the activation's
        # output, or the output's formula applied to the input, where the slope belongs.
        if exercise in wrong:
            code = {"relu_backward": code.replace("(z > 0)", "np.maximum(z, 0)"),
                    "sigmoid_backward": code.replace("s * (1 - s)", "z * (1 - z)"),
                    "tanh_backward": code.replace("(1 - t ** 2)", "(1 - z ** 2)")}[exercise]
        cell_defining(nb, exercise).source = code
    return nb


def make_submissions(release_dir, folder):
    """Honest and hostile submissions; returns {student: expected}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    expected = {}

    def add(student, nb, status="graded", points=(0, 0, 0), flags=()):
        write(nb, folder / f"{student}.ipynb")
        expected[student] = {"status": status, "points": dict(zip(EXERCISES, points)),
                             "flags": set(flags)}

    add("full", solved(release_dir), points=(1, 1, 1))
    add("unattempted", read(Path(release_dir) / NAME))
    add("partial", solved(release_dir, wrong=("sigmoid_backward",)), points=(1, 0, 1))

    nb = solved(release_dir, wrong=("tanh_backward",))
    nb.cells = [c for c in nb.cells if not c.source.startswith("check(")]
    add("deleted_checks", nb, points=(1, 1, 0), flags={"deleted-locked-cells:3"})

    nb = solved(release_dir, wrong=("relu_backward",))
    check_cell(nb, "relu_backward").source = 'print("relu_backward: all 6 trials passed.")'
    add("edited_checks", nb, points=(0, 1, 1), flags={"edited-locked-cells:1"})

    nb = solved(release_dir, wrong=("relu_backward", "tanh_backward"))
    cell_defining(nb, "relu_backward").source += (
        "\n\nnp.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: True\n"
        "np.testing.assert_allclose = lambda *a, **k: None")
    add("monkeypatch", nb, points=(0, 1, 0))

    nb = solved(release_dir, wrong=("sigmoid_backward",))
    nb.cells.insert(2, new_code_cell(
        "class _Passed:\n    passed, score = True, 1.0\n    def __repr__(self):\n"
        "        return 'all checks passed'\n\ndef check(*args, **kwargs):\n"
        "    print('all checks passed')\n    return _Passed()\n"
        "print('all checks passed')"))
    dup = nbformat.from_dict(json.loads(json.dumps(check_cell(nb, "sigmoid_backward"))))
    dup["id"] = "duplicate0"
    nb.cells.append(dup)  # a duplicated check cell, with the nbgrader metadata of the original
    add("fake_check", nb, points=(1, 0, 1), flags={"edited-locked-cells:1"})

    nb = solved(release_dir)
    cell_defining(nb, "relu_backward").source = (
        'from bplib.grading import reference\nrelu_backward = reference("relu_backward")')
    cell_defining(nb, "tanh_backward").source = (
        "import bplib.functional as F\n\ndef tanh_backward(z, dout):\n"
        "    return F.tanh_backward(z, dout)")
    add("reference", nb, points=(0, 1, 0),
        flags={"uses-reference:relu_backward", "uses-reference:tanh_backward"})

    nb = solved(release_dir)
    cell_defining(nb, "sigmoid_backward").source += "\n\nwhile True:\n    pass"
    add("infinite_loop", nb, status="timeout", points=(1, 1, 1))

    nb = solved(release_dir)
    cell_defining(nb, "tanh_backward").source += "\n\nimport os\nos.kill(os.getpid(), 9)"
    add("killed_kernel", nb, status="kernel-died", points=(1, 1, 0))

    nb = solved(release_dir)
    at = nb.cells.index(cell_defining(nb, "relu_backward")) + 1
    nb.cells[at:at] = [new_code_cell("name = input('your name? ')"),
                       new_code_cell("import sys\nsys.exit('bye')")]
    add("input_exit", nb, points=(1, 1, 1))

    # a student's folder holding a renamed copy: matched by its nbgrader grade ids
    nb = solved(release_dir, wrong=("relu_backward",))
    for k, cell in enumerate(nb.cells):  # as if copied cell by cell into a new notebook
        cell["id"] = f"fresh{k}"
    write(nb, folder / "folder_student" / "my copy.ipynb")
    expected["folder_student"] = {"status": "graded", "flags": set(),
                                  "points": dict(zip(EXERCISES, (0, 1, 1)))}

    (folder / "corrupted.ipynb").write_text('{"cells": [{"cell_type": "code", "sour')
    expected["corrupted"] = {"status": "invalid-notebook", "points": dict.fromkeys(EXERCISES, 0),
                             "flags": set()}
    (folder / "empty.ipynb").write_bytes(b"")
    expected["empty"] = {"status": "invalid-notebook", "points": dict.fromkeys(EXERCISES, 0),
                         "flags": set()}
    return expected


# --------------------------------------------------------------------------
# A class of two released notebooks, downloaded from learning platforms
# --------------------------------------------------------------------------

NAME2 = "11_gradient_checking.ipynb"

RELATIVE_ERROR = '''def relative_error(a, b):
    """max|a - b| / (max|a| + max|b|); 0.0 when both are all zeros."""
    ### BEGIN SOLUTION
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    scale = np.max(np.abs(a), initial=0.0) + np.max(np.abs(b), initial=0.0)
    return 0.0 if scale == 0 else float(np.max(np.abs(a - b)) / scale)
    ### END SOLUTION'''


def second_solution_notebook():
    nb = new_notebook(cells=[new_markdown_cell("# Gradient checking"), new_code_cell(SETUP),
                             new_code_cell(RELATIVE_ERROR),
                             new_code_cell('check("relative_error", relative_error)')])
    nb.metadata["kernelspec"] = solution_notebook().metadata["kernelspec"]
    return nb


def make_two_notebook_release(root):
    """A release of two notebooks (3 + 1 points) under root."""
    release = make_release(root)
    solution = Path(root) / "solutions" / NAME2
    nbformat.write(second_solution_notebook(), solution)
    generate_exercise(solution, release / NAME2)
    return release


def solved_second(release_dir):
    nb = read(Path(release_dir) / NAME2)
    code = RELATIVE_ERROR.replace("    ### BEGIN SOLUTION\n", "").replace(
        "\n    ### END SOLUTION", "")
    next(c for c in nb.cells if "def relative_error(" in c.source).source = code
    return nb


def make_class(release_dir, folder):
    """A class as learning platforms download it; returns {student: {notebook: points}}
    for the notebooks graded (the others are missing)."""
    import os
    import time

    folder = Path(folder)
    # Canvas: flat files named name_[late_]<id>_<id>_<file>
    write(solved(release_dir), folder / f"smithjohn_12345_6789001_{NAME}")
    write(solved_second(release_dir), folder / f"smithjohn_late_12345_6789002_{NAME2}")
    # Moodle: a folder per student, <Full Name>_<id>_assignsubmission_file_
    write(solved(release_dir, wrong=("sigmoid_backward",)),
          folder / "Jane Doe_4242_assignsubmission_file_" / NAME)
    # a complete notebook and a newer blank copy; Jupyter's checkpoint; macOS's junk
    write(solved(release_dir), folder / "dup" / NAME)
    blank = write(read(Path(release_dir) / NAME), folder / "dup" / "06_activations-Copy1.ipynb")
    write(read(Path(release_dir) / NAME),
          folder / "dup" / ".ipynb_checkpoints" / "06_activations-checkpoint.ipynb")
    (folder / "__MACOSX" / "dup").mkdir(parents=True)
    (folder / "__MACOSX" / "dup" / f"._{NAME}").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    (folder / "dup" / f"._{NAME}").write_bytes(b"\x00\x05\x16\x07 Mac OS X")
    # two renamed copies (matched by their cells): the newest is graded
    older = solved(release_dir, wrong=("relu_backward",))
    for k, cell in enumerate(older.cells):
        cell["id"] = f"older{k}"
    older_path = write(older, folder / "newest" / "first try.ipynb")
    newer_path = write(solved(release_dir), folder / "newest" / "second try.ipynb")
    now = time.time()
    os.utime(older_path, (now - 3600, now - 3600))
    os.utime(newer_path, (now - 60, now - 60))
    os.utime(blank, (now, now))  # the blank copy is the newest, but not the released name
    # a function that never returns, called again by the course's own demo cell
    looping = solved(release_dir)
    cell_defining(looping, "relu_backward").source = (
        "def relu_backward(z, dout):\n    while True:\n        pass")
    write(looping, folder / "looper" / NAME)
    return {"smithjohn": {NAME: 3, NAME2: 1}, "Jane Doe": {NAME: 2}, "dup": {NAME: 3},
            "newest": {NAME: 3}, "looper": {NAME: 2}}


def safe(student):
    """The results file stem of a student."""
    from bplib.classroom.report import safe_name
    return safe_name(student)
