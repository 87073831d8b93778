"""The course as an installable package: the wheel, the sdist and the student's workspace.

The end-to-end test builds a release from a copy of the checkout with ``python -m build``,
installs the wheel (not editable) into a fresh virtual environment, opens the course with
``bplib lab`` through JupyterLab's REST API, then installs a second, changed release and
checks that ``bplib update`` keeps the student's edits. The fresh environment borrows this
environment's third-party packages (numpy, JupyterLab, ...) through a .pth file naming a
folder of links to them, bplib's own files left out, so that pip finds every dependency
already installed and bplib can only come from the wheel.
"""

import json
import os
import queue
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tarfile
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

import bplib
from bplib import workspace

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ["pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "CHANGELOG.md",
          "bplib", *workspace.COURSE_FOLDERS]


# --- the workspace, in this process ------------------------------------------------------

def _notebook(*sources, outputs=()):
    cells = [{"cell_type": "code", "source": s, "metadata": {}, "outputs": list(outputs),
              "execution_count": None} for s in sources]
    return json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def _course(folder, files):
    """A small course: {relative path: the sources of its notebook's cells}."""
    for name, sources in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(_notebook(*sources))
    return folder


@pytest.fixture
def shipped(tmp_path):
    return _course(tmp_path / "course", {"notebooks/00_start_here.ipynb": ["print('hello')"],
                                         "notebooks/01_lesson.ipynb": ["x = 1"],
                                         "exercises/01_lesson.ipynb": ["# YOUR CODE HERE"],
                                         "solutions/01_lesson.ipynb": ["x = 42"]})


def test_first_copy_adds_every_course_file_and_records_it(shipped, tmp_path):
    report = workspace.update_workspace(tmp_path / "ws", shipped)
    assert report.added == ["notebooks/00_start_here.ipynb", "notebooks/01_lesson.ipynb",
                            "exercises/01_lesson.ipynb", "solutions/01_lesson.ipynb"]
    assert (tmp_path / "ws/exercises/01_lesson.ipynb").read_bytes() == \
        (shipped / "exercises/01_lesson.ipynb").read_bytes()
    manifest = workspace.read_manifest(tmp_path / "ws")
    assert manifest["bplib_version"] == bplib.__version__
    assert set(manifest["files"]) == set(report.added)
    again = workspace.update_workspace(tmp_path / "ws", shipped)
    assert (again.added, again.updated, again.kept, again.unchanged) == ([], [], [], 4)
    assert not workspace.pending_update(tmp_path / "ws", shipped)


def test_update_replaces_untouched_files_and_keeps_edited_ones(shipped, tmp_path):
    ws = tmp_path / "ws"
    workspace.update_workspace(ws, shipped)
    mine = _notebook("x = 'my answer'")
    (ws / "exercises/01_lesson.ipynb").write_text(mine)
    # Running a lesson changes its outputs, not its sources: not an edit.
    (ws / "notebooks/01_lesson.ipynb").write_text(
        _notebook("x = 1", outputs=[{"output_type": "stream", "name": "stdout", "text": "1"}]))
    # A new release changes both, adds a lesson and drops the start-here notebook.
    (shipped / "exercises/01_lesson.ipynb").write_text(_notebook("# YOUR CODE HERE", "# new"))
    (shipped / "notebooks/01_lesson.ipynb").write_text(_notebook("x = 2"))
    (shipped / "notebooks/02_next.ipynb").write_text(_notebook("y = 2"))
    (shipped / "notebooks/00_start_here.ipynb").unlink()
    assert workspace.pending_update(ws, shipped)

    report = workspace.update_workspace(ws, shipped)

    beside = f"exercises/01_lesson.bplib-{bplib.__version__}.ipynb"
    assert report.added == ["notebooks/02_next.ipynb"]
    assert report.updated == ["notebooks/01_lesson.ipynb"]
    assert report.kept == [("exercises/01_lesson.ipynb", beside)]
    assert (ws / "exercises/01_lesson.ipynb").read_text() == mine
    assert (ws / beside).read_bytes() == (shipped / "exercises/01_lesson.ipynb").read_bytes()
    assert (ws / "notebooks/01_lesson.ipynb").read_bytes() == \
        (shipped / "notebooks/01_lesson.ipynb").read_bytes()
    assert (ws / "notebooks/00_start_here.ipynb").exists()  # dropped files stay
    assert "kept your edited exercises/01_lesson.ipynb; the new version is beside it: " \
        + beside in report.lines()
    # The next update has nothing new: the edited file is not copied beside again.
    again = workspace.update_workspace(ws, shipped)
    assert (again.added, again.updated, again.kept) == ([], [], [])
    # A later change finds the first name taken and writes beside it under another.
    (shipped / "exercises/01_lesson.ipynb").write_text(_notebook("# YOUR CODE HERE", "# v3"))
    third = workspace.update_workspace(ws, shipped)
    assert third.kept == [("exercises/01_lesson.ipynb",
                           f"exercises/01_lesson.bplib-{bplib.__version__}-2.ipynb")]
    assert (ws / "exercises/01_lesson.ipynb").read_text() == mine


def test_a_file_already_in_the_folder_is_never_overwritten(shipped, tmp_path):
    ws = tmp_path / "ws"
    (ws / "exercises").mkdir(parents=True)
    (ws / "exercises/01_lesson.ipynb").write_text("somebody's notes")
    report = workspace.update_workspace(ws, shipped)
    assert (ws / "exercises/01_lesson.ipynb").read_text() == "somebody's notes"
    assert report.kept == [("exercises/01_lesson.ipynb",
                            f"exercises/01_lesson.bplib-{bplib.__version__}.ipynb")]


def test_the_workspace_cannot_be_the_course(shipped):
    with pytest.raises(ValueError, match="is the course itself"):
        workspace.update_workspace(shipped, shipped)


def test_notebook_hash_ignores_outputs_but_not_sources(tmp_path):
    a, b, c = tmp_path / "a.ipynb", tmp_path / "b.ipynb", tmp_path / "c.ipynb"
    a.write_text(_notebook("x = 1"))
    b.write_text(_notebook("x = 1", outputs=[{"output_type": "stream", "name": "stdout",
                                               "text": "1"}]))
    c.write_text(_notebook("x = 2"))
    assert workspace.content_hash(a) == workspace.content_hash(b) != workspace.content_hash(c)
    other = tmp_path / "data.txt"
    other.write_text("x = 1")
    assert workspace.content_hash(other) != workspace.content_hash(a)


def test_checkpoints_and_caches_are_not_course_files(shipped):
    (shipped / "notebooks/.ipynb_checkpoints").mkdir()
    (shipped / "notebooks/.ipynb_checkpoints/00_start_here-checkpoint.ipynb").write_text("{}")
    assert workspace.course_files(shipped) == [
        "notebooks/00_start_here.ipynb", "notebooks/01_lesson.ipynb",
        "exercises/01_lesson.ipynb", "solutions/01_lesson.ipynb"]


def test_default_exercises_dir_prefers_the_students_workspace(shipped, tmp_path, monkeypatch):
    monkeypatch.setenv(workspace.COURSE_ENV, str(shipped))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    assert workspace.find_workspace() is None
    assert workspace.default_exercises_dir() == shipped / "exercises"
    workspace.update_workspace(home / workspace.DEFAULT_WORKSPACE, shipped)
    ws = (home / workspace.DEFAULT_WORKSPACE).resolve()
    assert workspace.default_exercises_dir() == ws / "exercises"
    monkeypatch.chdir(ws / "notebooks")  # from inside the workspace too
    assert workspace.find_workspace() == ws
    assert workspace.default_exercises_dir() == ws / "exercises"


from_checkout = pytest.mark.skipif(workspace.checkout_root() != ROOT,
                                   reason="bplib is not imported from this checkout")


@from_checkout
def test_course_dir_in_a_checkout_and_from_the_environment(shipped, tmp_path, monkeypatch):
    monkeypatch.delenv(workspace.COURSE_ENV, raising=False)
    assert workspace.packaged_course() is None  # these tests run from the checkout
    assert workspace.course_dir() == ROOT == workspace.checkout_root()
    monkeypatch.setenv(workspace.COURSE_ENV, str(shipped))
    assert workspace.course_dir() == shipped
    monkeypatch.setenv(workspace.COURSE_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="holds no notebooks/ folder"):
        workspace.course_dir()


@from_checkout
def test_solution_folders_name_every_copy_of_the_solutions(shipped, tmp_path, monkeypatch):
    monkeypatch.delenv(workspace.COURSE_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert workspace.solution_folders() == [ROOT / "solutions"]
    monkeypatch.setenv(workspace.COURSE_ENV, str(shipped))
    workspace.update_workspace(tmp_path / workspace.DEFAULT_WORKSPACE, shipped)
    assert workspace.solution_folders() == [
        ROOT / "solutions", (tmp_path / workspace.DEFAULT_WORKSPACE / "solutions").resolve(),
        shipped / "solutions"]


# --- the release, built and installed -----------------------------------------------------

def _run(command, *, cwd, timeout=180, **kwargs):
    """Run a command in ``cwd``, never in the checkout: its bplib/ is importable from there."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True,
                            timeout=timeout, cwd=cwd, **kwargs)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result


def _copy_source(target):
    target.mkdir(parents=True)
    skip = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.pyc")
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, target / name, ignore=skip)
        else:
            shutil.copy2(ROOT / name, target / name)
    return target


def _build(source, out, *options):
    """python -m build (sdist, then a wheel from it, unless told --wheel) into ``out``."""
    _run([sys.executable, "-m", "build", *options, "--outdir", out, source], cwd=source,
         timeout=300)
    return sorted(Path(out).iterdir())


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(wheel, sdist, the source they were built from)."""
    base = tmp_path_factory.mktemp("release")
    source = _copy_source(base / "src")
    return (*_build(source, base / "dist"), source)


def test_release_is_a_wheel_and_an_sdist_that_carry_the_course_and_pass_twine(release):
    wheel, sdist, source = release
    version = bplib.__version__
    assert (sdist.name, wheel.name) == (f"bplib-{version}.tar.gz",
                                        f"bplib-{version}-py3-none-any.whl")
    _run([sys.executable, "-m", "twine", "check", "--strict", sdist, wheel], cwd=wheel.parent)
    course = workspace.course_files(source)
    assert len(course) > 20 and any(p.startswith("exercises/") for p in course)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {f"bplib/course/{p}" for p in course} <= names
        assert "bplib/workspace.py" in names
        assert not any(n.startswith(("notebooks/", "tests/")) or "checkpoint" in n
                       for n in names)
        metadata = archive.read(f"bplib-{version}.dist-info/METADATA").decode()
        assert f"Version: {version}\n" in metadata
    with tarfile.open(sdist) as archive:  # the sdist keeps git's layout, one copy of each
        names = set(archive.getnames())
        assert {f"bplib-{version}/{p}" for p in course} <= names
        assert not any("/bplib/course/" in n for n in names)
        assert f"bplib-{version}/setup.py" in names


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _fresh_venv(folder):
    """A venv whose only bplib is what gets installed in it; other packages borrowed.

    Returns its python.
    """
    _run([sys.executable, "-m", "venv", "--without-pip", folder], cwd=folder.parent)
    python = folder / "bin" / "python"
    purelib = Path(_run([python, "-c", "import sysconfig; "
                         "print(sysconfig.get_paths()['purelib'])"], cwd=folder).stdout.strip())
    borrowed = folder / "borrowed"
    borrowed.mkdir()
    ours = sysconfig.get_paths()["purelib"]
    for entry in Path(ours).iterdir():
        if not entry.name.lower().startswith(("bplib", "__editable__")) \
                and not entry.name.endswith(".pth"):
            (borrowed / entry.name).symlink_to(entry)
    (purelib / "borrowed.pth").write_text(f"{borrowed}\n")
    # JupyterLab's own data (its built application, widget extensions, kernel spec)
    (folder / "share").mkdir()
    (folder / "share" / "jupyter").symlink_to(Path(sys.prefix) / "share" / "jupyter")
    return python


class Server:
    def __init__(self, port, token):
        self.url, self.token = f"http://127.0.0.1:{port}", token

    def api(self, path, method="GET", body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url}/api/{path}", data=data, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            text = response.read()
        return json.loads(text) if text else None

    def wait(self, process, log, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.api("status")
            except (urllib.error.URLError, OSError, ValueError):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"bplib lab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.3)

    def listing(self, folder):
        return sorted(item["name"] for item in self.api(f"contents/{folder}")["content"])


def _kernel_says(runtime, kernel_id, code, timeout=90):
    """What the kernel prints for ``code`` (through its connection file).

    No heartbeat check (jupyter_client's wait_for_ready declares a busy machine's kernel
    dead): the kernel is ready when it answers kernel_info and its IOPub is connected.
    """
    from jupyter_client import BlockingKernelClient
    client = BlockingKernelClient(connection_file=str(runtime / f"kernel-{kernel_id}.json"))
    client.load_connection_file()
    client.start_channels()
    try:
        deadline = time.monotonic() + timeout
        while True:
            assert time.monotonic() < deadline, "the kernel did not answer"
            client.kernel_info()
            try:
                if client.get_shell_msg(timeout=1)["msg_type"] == "kernel_info_reply":
                    client.get_iopub_msg(timeout=1)
                    break
            except queue.Empty:
                pass
        printed = []
        reply = client.execute_interactive(
            code, timeout=timeout,
            output_hook=lambda msg: printed.append(msg["content"].get("text", "")))
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(printed)
    finally:
        client.stop_channels()


def test_installed_wheel_opens_a_workspace_and_updates_it_without_losing_work(
        release, tmp_path):
    wheel, _, source = release
    python = _fresh_venv(tmp_path / "venv")
    bplib_command = tmp_path / "venv" / "bin" / "bplib"
    _run([python, "-m", "pip", "install", "--no-index", wheel], cwd=tmp_path)
    where = _run([python, "-c", "import bplib, bplib.workspace as w; print(bplib.__file__); "
                  "print(w.course_dir()); print(*w.solution_folders())"],
                 cwd=tmp_path).stdout.split()
    site = tmp_path / "venv" / "lib"
    assert Path(where[0]).is_relative_to(site)  # bplib from the wheel, and its course too
    assert where[1:] == [str(Path(where[0]).parent / "course"),
                         str(Path(where[0]).parent / "course" / "solutions")]
    assert _run([bplib_command, "--version"], cwd=tmp_path).stdout == \
        f"bplib {bplib.__version__}\n"

    # 1. bplib lab, from a student's folder, on a free loopback port with a token
    home = tmp_path / "home"
    home.mkdir()
    config = tmp_path / "jupyter"
    runtime = config / "runtime"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config / "config"),
           "JUPYTER_RUNTIME_DIR": str(runtime), "JUPYTER_DATA_DIR": str(config / "data"),
           "JUPYTERLAB_SETTINGS_DIR": str(config / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(config / "workspaces")}
    env.pop(workspace.COURSE_ENV, None)
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp_path / "lab.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [bplib_command, "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}"],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(port, token)
    try:
        server.wait(process, log)
        ws = home / workspace.DEFAULT_WORKSPACE
        said = log.read_text()
        assert f"copied the course" in said and f"\n    {ws}\n" in said

        # 2. the workspace holds the lessons and exercises, and a kernel starts
        course = workspace.course_files(source)
        for folder in ("notebooks", "exercises", "solutions"):
            assert server.listing(folder) == sorted(
                Path(p).name for p in course if p.startswith(folder + "/"))
        assert server.api("contents/notebooks/00_start_here.ipynb")["type"] == "notebook"
        assert server.api("contents/README.md")["type"] == "file"  # the lessons link to it
        # the page a browser would open: lesson 0
        opens, = runtime.glob("jpserver-file-to-run-*-open.html")
        assert "/lab/tree/notebooks/00_start_here.ipynb" in opens.read_text()
        kernel = server.api("kernels", "POST", {"name": "python3"})
        printed = _kernel_says(runtime, kernel["id"], "import bplib, sys\n"
                               "print(bplib.__file__); print(sys.prefix)")
        assert printed.split() == [where[0], str(tmp_path / "venv")]
    finally:
        # 3. stop the server through its API (its kernels stop with it)
        try:
            server.api("shutdown", "POST", {})
            process.wait(timeout=30)
        except Exception:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert process.returncode == 0, log.read_text()[-3000:]

    # 4. the student edits an exercise and runs a lesson; a new release comes out
    exercise, lesson = ws / "exercises/03_single_neuron.ipynb", ws / "notebooks/02_computational_graphs.ipynb"
    notebook = json.loads(exercise.read_text())
    notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "my notes"})
    exercise.write_text(json.dumps(notebook))
    mine = exercise.read_bytes()
    ran = json.loads(lesson.read_text())
    for cell in ran["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    lesson.write_text(json.dumps(ran))

    new = tmp_path / "src2"  # the same course, bar the changes below
    shutil.copytree(source, new)
    init = new / "bplib" / "__init__.py"
    init.write_text(init.read_text().replace(f'"{bplib.__version__}"', '"99.0.0"'))
    changed = {}
    for path in ("exercises/03_single_neuron.ipynb", "notebooks/02_computational_graphs.ipynb"):
        changed[path] = json.loads((new / path).read_text())
        changed[path]["cells"].append({"cell_type": "markdown", "metadata": {},
                                       "source": "new in 99.0.0"})
        (new / path).write_text(json.dumps(changed[path], indent=1))
    shutil.copy(new / "notebooks/00_start_here.ipynb", new / "notebooks/13_new_lesson.ipynb")
    wheel2, = _build(new, tmp_path / "dist2", "--wheel")
    _run([python, "-m", "pip", "install", "--no-index", wheel2], cwd=tmp_path)
    assert _run([bplib_command, "--version"], cwd=tmp_path).stdout == "bplib 99.0.0\n"

    # 5. bplib update keeps the edit and writes the new version beside it
    said = _run([bplib_command, "update"], cwd=home, env=env).stdout
    beside = "exercises/03_single_neuron.bplib-99.0.0.ipynb"
    assert exercise.read_bytes() == mine
    assert (ws / beside).read_bytes() == (new / "exercises/03_single_neuron.ipynb").read_bytes()
    assert f"kept your edited exercises/03_single_neuron.ipynb; the new version is beside " \
           f"it: {beside}" in said
    assert lesson.read_bytes() == (new / "notebooks/02_computational_graphs.ipynb").read_bytes()
    assert "updated notebooks/02_computational_graphs.ipynb" in said
    assert (ws / "notebooks/13_new_lesson.ipynb").is_file()
    assert "1 added, 1 updated, 1 kept" in said
