"""The sandbox of `bplib grade`: what a kernel in a bwrap cage can and cannot do.

Each test runs real cells in a real kernel in a cage (as the batch grader
does) and looks from outside: a listener on the host's loopback, files
planted beside the cage, the cage's cgroups and the host's process table.
"""

import asyncio
import os
import socket
import threading
import time
from pathlib import Path

import pytest

from bplib.classroom import sandbox as sb
from bplib.classroom.kernel import execute

needs_bwrap = pytest.mark.skipif(not sb.bwrap_works(), reason="bubblewrap (bwrap) unavailable")


def _run(cells, sandbox, cell_timeout=20, total_timeout=60, keep_cage=False):
    """Execute [(kind, source)] in a cage of ``sandbox``; (Execution, cage)."""
    cage = sandbox.cage(total_timeout)
    result = {}

    def target():
        result["value"] = asyncio.run(execute(cells, cell_timeout=cell_timeout,
                                              total_timeout=total_timeout, cage=cage))
    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if not keep_cage:
        cage.close()
    return result["value"], cage


def _harness(code):
    return ("harness", code)


# --------------------------------------------------------------------------
# Options
# --------------------------------------------------------------------------

@pytest.mark.parametrize("text, size", [("512M", 512 * 2**20), ("1G", 2**30), ("1.5GiB", 3 * 2**29),
                                        ("2g", 2 * 2**30), ("100000000", 100000000)])
def test_memory_sizes(text, size):
    assert sb.parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "lots", "1X", "-1G", "10M"])
def test_bad_memory_sizes_say_what_was_expected(text):
    with pytest.raises(sb.SandboxError, match="--memory"):
        sb.parse_memory(text)


def test_none_is_chosen_with_a_warning_when_bwrap_is_missing(monkeypatch):
    monkeypatch.setattr(sb, "bwrap_works", lambda: False)
    chosen = sb.choose("auto")
    assert chosen.kind == "none" and "bubblewrap" in chosen.warning
    assert sb.choose("none").warning == ""  # asked for: no warning
    with pytest.raises(sb.SandboxError, match="bubblewrap"):
        sb.choose("bwrap")
    with pytest.raises(sb.SandboxError, match="--sandbox"):
        sb.choose("docker")


def test_the_cli_records_the_sandbox_and_its_warning(tmp_path, monkeypatch, capsys):
    import json

    import classroom_fixtures as fx
    from bplib.__main__ import main

    monkeypatch.setattr(sb, "bwrap_works", lambda: False)
    release = fx.make_release(tmp_path / "course")
    nb = fx.write(fx.solved(release), tmp_path / "subs" / "alice.ipynb")
    out = tmp_path / "grades"
    assert main(["grade", str(nb), "--release", str(release), "--out", str(out),
                 "--memory", "1G", "--seed", "3"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["sandbox"]["kind"] == "none" and results["sandbox"]["memory"] == 2**30
    assert any("bubblewrap" in w for w in results["warnings"])
    assert "warning" in capsys.readouterr().err
    assert main(["grade", str(nb), "--release", str(release), "--out", str(out),
                 "--memory", "lots"]) == 2


# --------------------------------------------------------------------------
# Under bwrap
# --------------------------------------------------------------------------

@needs_bwrap
def test_no_network_not_even_the_hosts_loopback():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    code = ("import socket\ns = socket.socket()\ns.settimeout(2)\ntry:\n"
            f"    s.connect(('127.0.0.1', {port}))\n    s.sendall(b'secret')\n    print('sent')\n"
            "except OSError as exc:\n    print('refused', type(exc).__name__)")
    result, _ = _run([_harness(code)], sb.choose("bwrap"))
    try:
        with pytest.raises(socket.timeout):
            listener.accept()
    finally:
        listener.close()
    assert result.outcomes[0].stdout.startswith("refused")


@needs_bwrap
def test_the_file_view_is_the_system_and_a_private_home(tmp_path):
    secret = tmp_path / "other_student" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("the other student's answer")
    solutions = Path(sb._bplib_dir()).parent / "solutions"
    code = (f"import os\nfor p in [{str(secret)!r}, {str(tmp_path)!r}, {str(solutions)!r}, "
            "'/etc/shadow', '/etc/ssh', '/root/.bash_history']:\n"
            "    try:\n        print(p, 'read', open(p).read()[:20] if os.path.isfile(p) else "
            "os.listdir(p))\n    except OSError as exc:\n        print(p, type(exc).__name__)\n"
            "open('mine.txt', 'w').write('x'); open('/tmp/t', 'w').write('x')\n"
            "print('home', os.getcwd(), sorted(os.listdir('.')), os.environ['HOME'])\n"
            "import bplib.grading; print('bplib importable')")
    result, cage = _run([_harness(code)], sb.choose("bwrap", hidden=[tmp_path]))
    out = result.outcomes[0].stdout
    assert "other student" not in out
    assert f"{secret} FileNotFoundError" in out and f"{tmp_path} FileNotFoundError" in out
    assert f"{solutions} FileNotFoundError" in out or not solutions.exists()
    assert "root:" not in out  # /etc/shadow is masked
    if os.path.isdir("/etc/ssh"):
        assert "/etc/ssh read []" in out  # and the host's keys
    home = out.split("home /home/student ")[1].split(" /home/student")[0]
    assert set(eval(home)) <= {"mine.txt", ".ipython", ".cache", ".matplotlib"}
    assert "bplib importable" in out
    assert not cage.folder.exists()  # its home and sockets are gone


@needs_bwrap
def test_the_system_is_read_only():
    code = ("import sys\nfor p in [sys.prefix + '/x', '/usr/x', '/etc/x']:\n    try:\n"
            "        open(p, 'w')\n        print(p, 'written')\n    except OSError as exc:\n"
            "        print(p, type(exc).__name__)")
    result, _ = _run([_harness(code)], sb.choose("bwrap"))
    assert "written" not in result.outcomes[0].stdout
    assert result.outcomes[0].stdout.count("OSError") + \
        result.outcomes[0].stdout.count("Error") >= 3


@needs_bwrap
def test_memory_is_limited():
    code = "import numpy as np\nx = np.ones(8 * 2**30 // 8)\nprint('allocated')"
    result, _ = _run([("student", code), _harness("print('still here')")],
                     sb.choose("bwrap", memory="1G"))
    first = result.outcomes[0]
    assert first.status == "error" and first.ename == "MemoryError"
    assert result.outcomes[1].stdout == "still here\n"


@needs_bwrap
def test_processes_are_limited_and_none_is_left_running():
    code = ("import subprocess\nstarted = 0\ntry:\n    for _ in range(300):\n"
            "        subprocess.Popen(['sleep', '6173'])\n        started += 1\n"
            "except OSError as exc:\n    print('stopped:', type(exc).__name__)\n"
            "print('started', started)")
    sandbox = sb.choose("bwrap")
    result, cage = _run([_harness(code)], sandbox, keep_cage=True)
    out = result.outcomes[0].stdout
    try:
        if cage.cgroups:  # a pids cgroup limits the cage's tasks
            started = int(out.split("started ")[1])
            assert started < sandbox.processes < 300, out
        # The namespace's first process has ended, so Linux is killing the rest: SIGKILL is
        # sent at once, but 300 exits take a moment to show in the cgroup.
        deadline = time.monotonic() + 10
        while sb.live_tasks(cage) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sb.live_tasks(cage) == 0
    finally:
        cage.close()
    assert not _sleepers(), "sleep processes were left running"


def _sleepers():
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().split(b"\0")[:2] == [b"sleep", b"6173"]:
                    found.append(entry.name)
            except OSError:
                pass
    return found


@needs_bwrap
def test_a_kernel_killed_by_the_time_limit_leaves_nothing_behind():
    code = "import subprocess, time\nsubprocess.Popen(['sleep', '6173'])\ntime.sleep(600)"
    result, cage = _run([("student", code)], sb.choose("bwrap"), cell_timeout=30,
                        total_timeout=4, keep_cage=True)
    try:
        assert result.status == "timeout"
        assert sb.live_tasks(cage) == 0
    finally:
        cage.close()
    assert not _sleepers()
    assert not any(Path(g).exists() for g in cage.cgroups)


def test_under_none_the_kernel_still_runs_with_limits():
    result, _ = _run([_harness("import resource\nprint(resource.getrlimit(resource.RLIMIT_AS))")],
                     sb.choose("none", memory="1G"))
    if os.path.exists("/usr/bin/prlimit"):
        assert result.outcomes[0].stdout == f"({2**30}, {2**30})\n"


# --------------------------------------------------------------------------
# The clean run's bplib
# --------------------------------------------------------------------------

def _clean_python(tmp_path, code):
    """Run code in a plain interpreter with only the clean run's bplib on its path."""
    import subprocess
    import sys

    from bplib.classroom import clean_run

    folder = clean_run.build_env(tmp_path / "clean")
    script = ("import sys\nsys.path[:0] = [%r]\nsys.path += %r\n" % (str(folder),
                                                                   clean_run.site_dirs())) + code
    return subprocess.run([sys.executable, "-I", "-S", "-B", "-c", script], capture_output=True,
                          text=True, timeout=60)


def test_the_clean_runs_bplib_has_the_allowed_parts_only(tmp_path):
    code = (
        "import numpy as np\nfrom bplib import functional as F, gradcheck, datasets, plotting\n"
        "from bplib.grading.trials import call_student\n"
        "z = np.linspace(-3, 3, 7).reshape(1, 7)\n"
        "print('softmax', repr(F.softmax(z).round(12).tolist()))\n"
        "print('describe', gradcheck.describe_error(1e-12, 1e-8))\n"
        "from bplib.grading import check\nprint('check', check('relu_backward', abs).passed)\n"
        "for use in [lambda: F.relu_backward(z, z), lambda: gradcheck.numerical_gradient(sum, z),\n"
        "            lambda: __import__('bplib.grading', fromlist=['x']).reference('x'),\n"
        "            lambda: __import__('bplib.nn'), lambda: __import__('bplib.models'),\n"
        "            lambda: __import__('bplib.grading.verdict'),\n"
        "            lambda: vars(__import__('bplib').grading)['EXERCISES']['x']]:\n"
        "    try:\n        use()\n        print('reached')\n"
        "    except ImportError as exc:\n        print(type(exc).__name__)\n")
    done = _clean_python(tmp_path, code)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    import numpy as np

    from bplib import functional as F
    z = np.linspace(-3, 3, 7).reshape(1, 7)
    assert lines[0] == "softmax " + repr(F.softmax(z).round(12).tolist())
    assert lines[1] == "describe relative error below 1e-08"
    assert lines[2] == "check False"  # allowed, but there is nothing to check against
    assert lines[3:] == ["ReferenceUnavailable"] * 3 + ["ModuleNotFoundError"] * 3 + \
        ["ReferenceUnavailable"]


def test_every_allowed_functional_function_is_the_real_one(tmp_path):
    import json

    from bplib import functional as F
    from bplib.classroom import clean_run
    from bplib.classroom.catalogue import catalogue

    allowed = [n for n, v in vars(F).items() if callable(v) and not n.startswith("_")
               and getattr(v, "__module__", "") == F.__name__ and catalogue().lookup(v) is None]
    assert {"relu", "sigmoid", "tanh", "softmax", "dense"} <= set(allowed)
    assert not {"relu_backward", "softmax_cross_entropy"} & set(allowed)
    source = clean_run.env_files()["bplib/functional.py"]
    for name in allowed:
        assert f"def {name}(" in source
    code = ("import json, numpy as np\nfrom bplib import functional as F\n"
            "z = np.linspace(-2, 2, 6).reshape(2, 3)\n"
            f"print(json.dumps({{n: np.asarray(F.dense(z, z.T, np.ones(2)) if n == 'dense' else "
            f"getattr(F, n)(z)).tolist() for n in {allowed!r}}}))")
    done = _clean_python(tmp_path, code)
    assert done.returncode == 0, done.stderr
    import numpy as np
    z = np.linspace(-2, 2, 6).reshape(2, 3)
    got = json.loads(done.stdout)
    for name in allowed:
        want = F.dense(z, z.T, np.ones(2)) if name == "dense" else getattr(F, name)(z)
        assert np.allclose(got[name], want, rtol=0, atol=1e-15), name


@needs_bwrap
def test_the_real_package_cannot_be_read_in_a_clean_cage():
    import bplib
    package = Path(bplib.__file__).resolve().parent
    cage = sb.choose("bwrap").cage(60)
    import subprocess
    import sys
    try:
        argv = cage.command([sys.executable, "-I", "-S", "-c",
                             f"import os; print(os.path.exists({str(package)!r}), "
                             f"os.path.exists({str(package / 'functional.py')!r}))"],
                            reference_visible=False)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              env=cage.env())
    finally:
        cage.close()
    assert done.stdout.split() in (["False", "False"], ["True", "False"]), done.stderr


# --------------------------------------------------------------------------
# Which cells the clean run runs
# --------------------------------------------------------------------------

def test_the_clean_run_takes_the_answer_cells_and_the_helpers_they_use(tmp_path):
    import classroom_fixtures as fx
    from nbformat.v4 import new_code_cell

    from bplib.classroom import clean_run
    from bplib.classroom.assemble import assemble, load_release
    from bplib.classroom.submission import harness_factory

    (released,) = load_release(fx.make_release(tmp_path))
    nb = fx.solved(released.path.parent)
    fx.cell_defining(nb, "relu_backward").source = (
        "def relu_backward(z, dout):\n    return _mask(z) * dout")
    at = nb.cells.index(fx.cell_defining(nb, "relu_backward"))
    nb.cells[at:at] = [new_code_cell("def _mask(z):\n    return (z > 0) * 1.0"),
                       new_code_cell("import sys\nsys.modules['numpy'].allclose = None"),
                       new_code_cell("print(_mask)")]
    nb.cells.remove(fx.cell_defining(nb, "tanh_backward"))  # the release's stub is restored
    cells = assemble(released, nb, harness_factory()[0]).cells
    chosen = [source for _, source in clean_run.answer_cells(cells, released)]
    assert any(s.startswith("def _mask") for s in chosen)           # a helper it uses
    assert not any("sys.modules" in s or s.startswith("print") for s in chosen)
    assert any(s.startswith("def relu_backward") for s in chosen)
    assert any("def tanh_backward" in s and "NotImplementedError" in s for s in chosen)
    assert not any("check(" in s for s in chosen)                    # no check cell
    assert clean_run.preamble(released, {"np"}) == ["import numpy as np"]
    assert "from bplib.grading import check" in clean_run.preamble(released)


@pytest.mark.parametrize("error, bound, needed", [
    ({"type": "ReferenceUnavailable", "message": "bplib.grading.reference is not ..."}, set(),
     True),
    ({"type": "ModuleNotFoundError", "message": "No module named 'bplib.nn'"}, set(), True),
    ({"type": "NameError", "message": "name 'F' is not defined"}, {"F"}, True),
    ({"type": "NameError", "message": "name 'F' is not defined"}, set(), False),
    ({"type": "ValueError", "message": "bplib shapes"}, set(), False),
    ({"type": "NotImplementedError", "message": ""}, set(), False)])
def test_errors_that_mean_the_reference_was_needed(error, bound, needed):
    from bplib.classroom.clean_run import needs_reference
    assert needs_reference(error, bound) is needed


@needs_bwrap
def test_hidden_folders_inside_a_bound_folder_are_empty(monkeypatch):
    """--out, submissions and solutions/ under a folder the cage shows (say, a course
    checkout holding the Python installation) are covered by empty folders."""
    import shutil
    import subprocess
    import sys
    import tempfile

    tmp_path = Path(tempfile.mkdtemp())
    for name in ("solutions", "grades", "visible"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "secret.txt").write_text("secret")
    real_dirs = sb._python_dirs
    monkeypatch.setattr(sb, "_python_dirs", lambda: real_dirs() + [str(tmp_path)])
    monkeypatch.setattr(sb, "_course_solutions", lambda: [str(tmp_path / "solutions")])
    cage = sb.choose("bwrap", hidden=[tmp_path / "grades"]).cage(60)
    try:
        code = (f"import os\nfor name in ('solutions', 'grades', 'visible'):\n"
                f"    print(name, os.listdir(os.path.join({str(tmp_path)!r}, name)))")
        done = subprocess.run(cage.command([sys.executable, "-c", code]), capture_output=True,
                              text=True, timeout=60, env=cage.env())
    finally:
        cage.close()
        shutil.rmtree(tmp_path)
    assert done.stdout.splitlines() == ["solutions []", "grades []",
                                        "visible ['secret.txt']"], done.stderr


def test_every_known_solutions_folder_is_hidden(tmp_path, monkeypatch):
    # A course named by $BPLIB_COURSE (and likewise an installed wheel's bplib/course/ or a
    # workspace) carries solutions/: the cage covers it, as it covers the checkout's.
    course = tmp_path / "course"
    for folder in ("notebooks", "solutions"):
        (course / folder).mkdir(parents=True)
    monkeypatch.setenv("BPLIB_COURSE", str(course))
    monkeypatch.chdir(tmp_path)
    hidden = sb._course_solutions()
    assert str((course / "solutions").resolve()) in hidden
    checkout_solutions = Path(sb._bplib_dir()).parent / "solutions"
    if checkout_solutions.is_dir():
        assert str(checkout_solutions.resolve()) in hidden
