"""The walls around a student's code: bubblewrap, resource limits, cleanup.

    sandbox = choose("auto", memory="2G", hidden=[out_dir, *submission_dirs])
    with sandbox.cage(timeout=600) as cage:       # one per submission
        argv = cage.command([sys.executable, "-m", "ipykernel_launcher", ...])

Under ``bwrap`` (Debian's ``bubblewrap``) every process of a cage runs in
namespaces of its own: no network (not even the host's loopback: the kernel
talks to the grader over Unix sockets in the cage's runtime folder), its own
process ids and ``/proc``, and a file view made of the system's directories
and the Python installation, read-only, plus an empty writable home, ``/tmp``
and runtime folder of its own. Nothing else of the host is there: not other
submissions, not ``--out``, not the course's ``solutions/``. The bplib
package is there for the notebook's kernel (the lessons import it) and absent
from the clean run (``reference_visible=False``). Limits: address space
(``--memory``, per process), CPU seconds, and, when a writable cgroup
hierarchy exists, the number of tasks and the memory of the whole cage.
Killing the cage's first process (``bwrap``) kills its PID namespace and so
everything the student's code started; ``Cage.close`` also empties and
removes its cgroups.

Under ``none`` the same commands run unwrapped: the limits on address space
and CPU still apply, nothing else does (see docs/security.md).
"""

import asyncio
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_MEMORY = 2 * 1024 ** 3
DEFAULT_PROCESSES = 128      # tasks (processes and threads) of one cage, with cgroups
HOME = "/home/student"       # the cage's home and working folder
KINDS = ("auto", "bwrap", "none")
_CGROUP_ROOTS = ("/sys/fs/cgroup/pids", "/sys/fs/cgroup/memory", "/sys/fs/cgroup")
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Secrets of the system that root may read: masked even though /etc is shown.
_MASKED = ("/etc/shadow", "/etc/gshadow", "/etc/shadow-", "/etc/gshadow-", "/etc/ssh",
           "/etc/ssl/private")
# Variables a kernel needs; the grader's own environment (tokens, paths) stays out.
# One BLAS thread and two malloc arenas keep a kernel's address space small
# (the memory limit counts it) and the cores for the batch's parallel jobs.
_ENV = {"LANG": "C.UTF-8", "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "MALLOC_ARENA_MAX": "2", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1"}


class SandboxError(Exception):
    """A sandbox was asked for and cannot be had (bad option, no bwrap)."""


def parse_memory(text):
    """Bytes in a size such as 512M, 1G, 1.5GiB or 2000000000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise SandboxError(f"--memory: expected a size such as 512M or 2G, got {text!r}")
    number, unit = float(match.group(1)), match.group(2).upper()
    size = int(number * 1024 ** " KMGT".index(unit or " "))
    if size < 64 * 1024 ** 2:
        raise SandboxError(f"--memory: {text} is too small for a Python kernel (64M at least)")
    return size


def bwrap_works():
    """True when bubblewrap is installed and may create namespaces here."""
    path = shutil.which("bwrap")
    if path is None:
        return False
    try:
        done = subprocess.run([path, "--unshare-all", "--die-with-parent", "--ro-bind", "/",
                               "/", "--", "/bin/true"], capture_output=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


@dataclass
class Sandbox:
    """How every submission's processes are run (the same for a whole batch)."""

    kind: str                          # "bwrap" or "none"
    memory: int = DEFAULT_MEMORY       # bytes, per process (and per cage, with cgroups)
    processes: int = DEFAULT_PROCESSES
    hidden: tuple = ()                 # host paths never to show, even under a bound one
    warning: str = ""                  # why a weaker sandbox than asked was chosen

    def describe(self):
        return {"kind": self.kind, "memory": self.memory, "processes": self.processes,
                "warning": self.warning}

    def cage(self, timeout):
        """A fresh cage for one submission; ``timeout`` bounds its CPU seconds."""
        return Cage(self, cpu_seconds=int(timeout) + 5)


def choose(kind="auto", memory=DEFAULT_MEMORY, hidden=(), processes=DEFAULT_PROCESSES):
    """The Sandbox for ``--sandbox KIND``: auto is bwrap when it works, else none."""
    if kind not in KINDS:
        raise SandboxError(f"--sandbox: expected one of {', '.join(KINDS)}, got {kind!r}")
    if isinstance(memory, str):
        memory = parse_memory(memory)
    hidden = tuple(str(Path(p).resolve()) for p in hidden)
    if kind in ("auto", "bwrap") and bwrap_works():
        return Sandbox("bwrap", memory, processes, hidden)
    if kind == "bwrap":
        raise SandboxError("--sandbox bwrap: bubblewrap is not installed or cannot create "
                           "namespaces here (Debian: apt-get install bubblewrap)")
    warning = "" if kind == "none" else (
        "bubblewrap (bwrap) is not installed: students' code runs with your rights, "
        "unsandboxed; grade only in a throwaway container (Debian: apt-get install bubblewrap)")
    return Sandbox("none", memory, processes, hidden, warning)


# --------------------------------------------------------------------------
# What the cage shows of the host
# --------------------------------------------------------------------------

def _bplib_dir():
    import bplib
    return str(Path(bplib.__file__).resolve().parent)


def _python_dirs():
    """The Python installation: prefixes and site folders, resolved."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
            str(Path(sys.executable).resolve().parent.parent)}
    dirs |= {p for p in sys.path if p and ("site-packages" in p or "dist-packages" in p)}
    found = []
    for d in dirs:
        for path in {d, os.path.realpath(d)}:
            if os.path.isdir(path):
                found.append(path)
    return found


def _inside(path, folders):
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


def _outermost(paths):
    kept = []
    for path in sorted(set(paths), key=len):
        if not _inside(path, kept):
            kept.append(path)
    return kept


def _course_solutions():
    """Every solutions/ folder bplib knows of (an installed wheel's bplib/course/solutions,
    the checkout's, a workspace's) and the working folder's (hidden if under a bound path)."""
    from bplib.workspace import solution_folders

    here = Path.cwd() / "solutions"
    extra = [here.resolve()] if here.is_dir() else []
    return list(dict.fromkeys(str(p) for p in [*solution_folders(), *extra]))


def view_arguments(*, runtime, home, reference_visible, hidden=()):
    """bwrap's file-view arguments: the system and Python read-only, a private
    home, /tmp and runtime folder, and bplib only when ``reference_visible``."""
    # a private /tmp first, so that what is bound later shows even if it lives in /tmp
    args = ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/dev/shm", "--tmpfs", "/tmp"]
    system = []
    for path in _SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            system.append(path)
    package = _bplib_dir()
    bound = _outermost(system + _python_dirs())
    for path in bound:
        args += ["--ro-bind", path, path]
    for path in _MASKED:
        if os.path.isdir(path):
            args += ["--tmpfs", path]
        elif os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    if reference_visible and not _inside(package, bound):
        args += ["--ro-bind", package, package]
    covered = list(hidden) + _course_solutions()
    if not reference_visible:
        covered.append(package)
    for path in covered:
        if _inside(path, bound) and os.path.isdir(path):
            args += ["--tmpfs", path]
        elif _inside(path, bound) and os.path.exists(path):
            args += ["--ro-bind", "/dev/null", path]
    args += ["--bind", home, HOME, "--bind", runtime, runtime, "--chdir", HOME]
    return args


# --------------------------------------------------------------------------
# One submission's cage
# --------------------------------------------------------------------------

@dataclass
class Cage:
    """The processes of one submission: a private folder, cgroups, limits."""

    sandbox: Sandbox
    cpu_seconds: int = 600
    folder: Path = None          # host folder: runtime/ (sockets), home/
    cgroups: list = field(default_factory=list)

    def __post_init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix=f"bplib-cage-{os.getpid()}-"))
        self.runtime.mkdir()
        self.home.mkdir()
        if self.sandbox.kind == "bwrap":
            self.cgroups = _make_cgroups(self.sandbox)
            # matplotlib's font list, which it would otherwise rebuild in every cage
            self.seed_home({f".matplotlib/{p.name}": p for p in _font_caches()})

    @property
    def runtime(self):
        return self.folder / "runtime"

    @property
    def home(self):
        return self.folder / "home"

    def env(self, extra=None):
        """The environment of a process in the cage."""
        if self.sandbox.kind == "bwrap":
            env = dict(_ENV, HOME=HOME, TMPDIR="/tmp", PATH="/usr/local/bin:/usr/bin:/bin",
                       XDG_CACHE_HOME=f"{HOME}/.cache", MPLCONFIGDIR=f"{HOME}/.matplotlib")
        else:  # the grader's own environment
            env = {k: v for k, v in os.environ.items() if k != "JPY_PARENT_PID"}
            env.update(_ENV)
        env.update(extra or {})
        return env

    def command(self, argv, *, reference_visible=True):
        """The argv that runs ``argv`` inside the cage."""
        prlimit = shutil.which("prlimit")  # (util-linux)
        limits = [prlimit, f"--as={self.sandbox.memory}", f"--cpu={self.cpu_seconds}",
                  "--core=0", "--"] if prlimit else []
        if self.sandbox.kind != "bwrap":
            return limits + list(argv)
        if limits and not any("pids" in g or Path(g, "pids.max").exists() for g in self.cgroups):
            # no pids cgroup: RLIMIT_NPROC, counted in the cage's own user namespace
            # (Linux does not apply it to root)
            limits.insert(1, f"--nproc={self.sandbox.processes}")
        wrap = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session",
                "--hostname", "sandbox", "--cap-drop", "ALL", "--clearenv"]
        for key, value in self.env().items():
            wrap += ["--setenv", key, value]
        wrap += view_arguments(runtime=str(self.runtime), home=str(self.home),
                               reference_visible=reference_visible, hidden=self.sandbox.hidden)
        joined = ["/bin/sh", "-c", _JOIN, "sh", *self.cgroups, "--"] if self.cgroups else []
        return joined + limits + [shutil.which("bwrap")] + wrap[1:] + ["--", *argv]

    def seed_home(self, files):
        """Copy {relative path: host file} into the cage's home before it starts."""
        for relative, source in files.items():
            target = self.home / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(source, target)
            except OSError:
                pass

    def close(self):
        """Kill whatever is left and remove the cage's folder and cgroups."""
        for group in self.cgroups:
            _empty_cgroup(group)
        shutil.rmtree(self.folder, ignore_errors=True)

    async def aclose(self):
        """``close`` in a worker thread: emptying cgroups waits for killed tasks to
        leave, which must not hold up the event loop's other submissions."""
        await asyncio.get_running_loop().run_in_executor(None, self.close)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


_FONT_CACHES = []


def _font_caches():
    """matplotlib's font-list cache files on the host (made once if missing)."""
    if not _FONT_CACHES:
        try:
            import matplotlib
            cache = Path(matplotlib.get_cachedir())
            if not list(cache.glob("fontlist-*.json")):
                import matplotlib.font_manager  # noqa: F401 (builds the cache)
            _FONT_CACHES.extend(sorted(cache.glob("fontlist-*.json")) or [None])
        except Exception:
            _FONT_CACHES.append(None)
    return [p for p in _FONT_CACHES if p is not None]


# The shell that puts itself into the cage's cgroups, then becomes the command.
_JOIN = ('while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs" || exit 97; shift; done; '
         'shift; exec "$@"')


def _cgroup_root():
    """The writable cgroup folders for (pids, memory), or None each."""
    found = {}
    for root in _CGROUP_ROOTS:
        base = Path(root)
        if not base.is_dir() or not os.access(base, os.W_OK):
            continue
        if (base / "cgroup.controllers").exists():  # v2: one hierarchy
            controllers = (base / "cgroup.controllers").read_text().split()
            if "pids" in controllers:
                found.setdefault("pids", base)
            if "memory" in controllers:
                found.setdefault("memory", base)
        elif root.endswith("/pids"):
            found["pids"] = base
        elif root.endswith("/memory"):
            own = _own_cgroup("memory")
            found["memory"] = base / own if own and (base / own).is_dir() else base
    return found


def _own_cgroup(controller):
    try:
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            _, names, path = line.split(":", 2)
            if controller in names.split(","):
                return path.lstrip("/")
    except OSError:
        pass
    return None


def _make_cgroups(sandbox):
    """Fresh cgroups limiting the cage's tasks and memory, where allowed."""
    made = []
    name = f"bplib-{os.getpid()}-{time.monotonic_ns()}"
    by_root = {}
    for controller, root in _cgroup_root().items():
        by_root.setdefault(root, set()).add(controller)
    for root, controllers in by_root.items():
        group = root / name
        try:
            group.mkdir()
        except OSError:
            continue
        try:
            if "pids" in controllers:
                (group / "pids.max").write_text(str(sandbox.processes))
            if "memory" in controllers and (group / "memory.max").exists():
                (group / "memory.max").write_text(str(sandbox.memory))
                if (group / "memory.swap.max").exists():
                    (group / "memory.swap.max").write_text("0")
            elif "memory" in controllers:
                (group / "memory.limit_in_bytes").write_text(str(sandbox.memory))
        except OSError:
            _empty_cgroup(group)
            continue
        made.append(group)
    return [str(g) for g in made]


def _empty_cgroup(group):
    """Kill every task of a cgroup, then remove it."""
    group = Path(group)
    for _ in range(50):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except (OSError, ValueError):
            pids = []
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.02)
    for _ in range(50):
        try:
            group.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.02)


def live_tasks(cage):
    """How many tasks are still in the cage's cgroups (for tests)."""
    total = 0
    for group in cage.cgroups:
        try:
            total += len((Path(group) / "cgroup.procs").read_text().split())
        except OSError:
            pass
    return total


# --------------------------------------------------------------------------
# The batch's sandbox
# --------------------------------------------------------------------------

_CURRENT = []


def current():
    """The sandbox in use: the innermost ``using``, else ``auto`` with the defaults."""
    if not _CURRENT:
        _CURRENT.append(choose("auto"))
    return _CURRENT[-1]


class using:
    """``with using(sandbox):`` every kernel and clean run started meanwhile (in
    any thread) runs in that sandbox."""

    def __init__(self, sandbox):
        self.sandbox = sandbox

    def __enter__(self):
        _CURRENT.append(self.sandbox)
        return self.sandbox

    def __exit__(self, *exc):
        _CURRENT.remove(self.sandbox)


def folders_of(paths):
    """The folders of submission arguments (a notebook's folder holds its neighbours)."""
    return [str(Path(p)) if Path(p).is_dir() else str(Path(p).parent) for p in paths]


def record(out, sandbox):
    """Add the sandbox used (and its warning) to ``out``/results.json."""
    import json

    path = Path(out) / "results.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(data, dict):
        data["sandbox"] = sandbox.describe()
        if sandbox.warning:
            data.setdefault("warnings", []).append(sandbox.warning)
        tmp = path.with_name(f".{path.name}.sandbox.tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)
