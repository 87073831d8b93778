"""The ``bplib`` command: its help, its version, and ``bplib lab``'s workspace handling.

``bplib lab`` is run in this process with JupyterLab's start replaced by a recorder,
over a small course named by $BPLIB_COURSE; tests/test_package.py starts the real
JupyterLab from an installed wheel.
"""

import argparse
import json
import subprocess
import sys

import pytest

import bplib
from bplib import __main__ as cli
from bplib import workspace


def _subcommands(parser):
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action


def test_bplib_alone_prints_help_and_exits_0(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: bplib")
    for command in ("lab", "update", "generate", "execute", "grade"):
        assert f"\n    {command} " in out


def test_version_is_the_packages(capsys):
    with pytest.raises(SystemExit) as exit:
        cli.main(["--version"])
    assert exit.value.code == 0
    assert capsys.readouterr().out == f"bplib {bplib.__version__}\n"


def test_python_dash_m_bplib_prints_the_version(tmp_path):
    result = subprocess.run([sys.executable, "-m", "bplib", "--version"], capture_output=True,
                            text=True, timeout=60, cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, f"bplib {bplib.__version__}\n")


def test_help_texts_show_no_rest_markup():
    parser = cli.build_parser()
    texts = [parser.format_help()] + [p.format_help()
                                      for p in _subcommands(parser).choices.values()]
    for text in texts:
        assert "``" not in text and ":func:" not in text and ":class:" not in text


def test_every_subcommand_and_option_has_help_text():
    parser = cli.build_parser()
    subcommands = _subcommands(parser)
    listed = {a.dest: a.help for a in subcommands._choices_actions}
    assert set(listed) == set(subcommands.choices)
    for name, subparser in [("bplib", parser), *subcommands.choices.items()]:
        if name != "bplib":
            assert listed[name], f"bplib {name} is listed without a help text"
            assert subparser.description, f"bplib {name} --help does not say what it does"
        for action in subparser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help and action.help != argparse.SUPPRESS, \
                    f"bplib {name}: {action.option_strings or action.dest} has no help text"


def test_generate_and_execute_explain_themselves():
    subcommands = _subcommands(cli.build_parser()).choices
    assert "YOUR CODE HERE" in subcommands["generate"].format_help()
    assert "outputs" in subcommands["execute"].format_help()


def test_lab_help_says_what_lab_does_then_lists_jupyterlabs_options(tmp_path):
    pytest.importorskip("jupyterlab")
    result = subprocess.run([sys.executable, "-m", "bplib", "lab", "--help"],
                            capture_output=True, text=True, timeout=120, cwd=tmp_path)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.startswith("usage: bplib lab [--workspace DIR] [--update]")
    ours = out.index("Open the course in JupyterLab, in a workspace of your own.")
    theirs = out.index("JupyterLab's options:")
    jupyterlab = out.index("--ServerApp.port")  # JupyterLab's own help, after ours
    assert ours < theirs < jupyterlab
    assert not (tmp_path / workspace.DEFAULT_WORKSPACE).exists()  # help changes nothing


def test_lab_passes_every_option_it_does_not_know_to_jupyterlab():
    args, rest = cli.build_parser().lab_parser.parse_known_args(
        ["--no-browser", "--workspace", "w", "--port", "8890", "--work=x", "--update"])
    assert (args.workspace, args.update, args.help) == ("w", True, False)
    assert rest == ["--no-browser", "--port", "8890", "--work=x"]  # no abbreviations


# --- bplib lab and bplib update over a small course ---------------------------------------

def _notebook(source):
    return json.dumps({"cells": [{"cell_type": "code", "source": source, "metadata": {},
                                  "outputs": [], "execution_count": None}],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


@pytest.fixture
def course(tmp_path, monkeypatch):
    course = tmp_path / "course"
    for name in ("notebooks/00_start_here.ipynb", "exercises/01_x.ipynb",
                 "solutions/01_x.ipynb"):
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        (course / name).write_text(_notebook(name))
    monkeypatch.setenv(workspace.COURSE_ENV, str(course))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.chdir(home)
    return course


@pytest.fixture
def started(monkeypatch):
    """The JupyterLab commands bplib lab would have run, and in which folder."""
    calls = []
    monkeypatch.setattr(cli, "_has_jupyterlab", lambda: True)
    monkeypatch.setattr(cli, "_run_jupyterlab",
                        lambda command, folder: calls.append((command, folder)) or 0)
    return calls


def test_lab_copies_the_course_on_first_run_and_reopens_it_later(course, started, capsys,
                                                                   monkeypatch):
    ws = course.parent / "home" / workspace.DEFAULT_WORKSPACE
    assert cli.main(["lab", "--no-browser"]) == 0
    out = capsys.readouterr().out
    assert "copied the course (1 lessons, 1 exercises, 1 solutions)" in out
    assert f"\n    {ws}\n" in out  # the workspace's path, on a line of its own
    assert f"run bplib lab from {ws.parent} or from inside it" in out
    assert (ws / "exercises/01_x.ipynb").read_text() == _notebook("exercises/01_x.ipynb")
    command, cwd = started[-1]
    assert cwd == ws
    assert command[1:5] == ["-m", "jupyterlab", f"--ServerApp.root_dir={ws}",
                            "notebooks/00_start_here.ipynb"]
    assert "--no-browser" in command

    assert cli.main(["lab"]) == 0
    assert f"opening your workspace {ws}\n" in capsys.readouterr().out
    assert started[-1][1] == ws
    # From inside the workspace, the same workspace (not a new one inside it).
    monkeypatch.chdir(ws / "exercises")
    assert cli.main(["lab"]) == 0
    assert started[-1][1] == ws
    assert not (ws / "exercises" / workspace.DEFAULT_WORKSPACE).exists()


def test_lab_says_when_an_update_waits_and_update_brings_it_in(course, started, capsys):
    ws = course.parent / "home" / "mine"
    assert cli.main(["lab", "--workspace", "mine"]) == 0
    (ws / "exercises/01_x.ipynb").write_text(_notebook("my answer"))
    (course / "exercises/01_x.ipynb").write_text(_notebook("new exercise"))
    (course / "notebooks/02_y.ipynb").write_text(_notebook("new lesson"))
    capsys.readouterr()

    assert cli.main(["lab", "--workspace", str(ws)]) == 0
    assert "has new or changed lessons; bplib update brings them in" in capsys.readouterr().out
    assert not (ws / "notebooks/02_y.ipynb").exists()

    assert cli.main(["update", "--workspace", "mine"]) == 0
    out = capsys.readouterr().out
    beside = f"exercises/01_x.bplib-{bplib.__version__}.ipynb"
    assert f"  kept your edited exercises/01_x.ipynb; the new version is beside it: {beside}\n" \
        in out
    assert "  added notebooks/02_y.ipynb\n" in out
    assert "1 added, 0 updated, 1 kept" in out
    assert (ws / "exercises/01_x.ipynb").read_text() == _notebook("my answer")
    assert (ws / beside).read_text() == _notebook("new exercise")

    (course / "notebooks/02_y.ipynb").write_text(_notebook("newer lesson"))
    assert cli.main(["lab", "--update", "--workspace", "mine"]) == 0
    assert "  updated notebooks/02_y.ipynb\n" in capsys.readouterr().out
    assert (ws / "notebooks/02_y.ipynb").read_text() == _notebook("newer lesson")


def test_update_needs_a_workspace(course, capsys):
    assert cli.main(["update"]) == 2
    assert "is not a workspace yet; bplib lab makes it" in capsys.readouterr().err


def test_lab_on_the_course_itself_opens_it_in_place(course, started, capsys):
    assert cli.main(["lab", "--workspace", str(course)]) == 0
    assert "opening the course itself" in capsys.readouterr().out
    assert started[-1][1] == course
    assert not (course / workspace.MANIFEST).exists()


def test_lab_refuses_a_workspace_inside_the_course(course, started, capsys):
    assert cli.main(["lab", "--workspace", str(course / "notebooks" / "mine")]) == 2
    assert "is inside the course's notebooks/ folder" in capsys.readouterr().err
    assert not (course / "notebooks" / "mine").exists() and started == []


def test_lab_without_jupyterlab_says_how_to_install_it(course, monkeypatch, capsys):
    monkeypatch.setattr(cli, "_has_jupyterlab", lambda: False)
    assert cli.main(["lab"]) == 1
    assert "pip install 'bplib[lab]'" in capsys.readouterr().err
    assert not (course.parent / "home" / workspace.DEFAULT_WORKSPACE).exists()
