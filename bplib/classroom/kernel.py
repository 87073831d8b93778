"""Running an assembled notebook in a fresh Jupyter kernel, with time limits.

Every submission gets its own kernel (nbclient over jupyter_client), started
in a cage of the batch's sandbox (``bplib.classroom.sandbox``: under bwrap no
network, a private file view, limits, and everything killed at the end), in
an empty home folder of its own, with stdin disabled (``input()`` raises), a
per-cell limit (the kernel is interrupted and the next cell runs) and a
per-submission limit (the kernel is killed). Errors in a cell never stop the
run; a kernel that dies stops it. Only what the grader needs is kept: the
error of each cell, and the standard output of the harness cells.

In a batch the next submission's kernel is started, and connected to, while
earlier submissions run (``ahead``), and an ipykernel kernel starts without
what grading never uses (``lean_command``): each kernel still serves one
submission only.
"""

import asyncio
import logging
import subprocess
from dataclasses import dataclass
from time import monotonic

TIMEOUT_NAME = "CellTimeout"
HARNESS_OUTPUT_LIMIT = 20_000_000  # characters of a harness cell's stdout we keep
STARTUP_TIMEOUT = 60  # seconds a kernel may take to answer its first message

_log = logging.getLogger("bplib.classroom.kernel")
_log.addHandler(logging.NullHandler())
_log.propagate = False


@dataclass
class Outcome:
    """What happened to one cell."""

    status: str = "not run"   # "ok", "error", "timeout" or "not run"
    ename: str = ""
    evalue: str = ""
    seconds: float = 0.0
    stdout: str = ""          # harness cells only


@dataclass
class Execution:
    outcomes: list
    status: str = "completed"  # "completed", "kernel-died", "timeout" or "grader-error"
    message: str = ""
    kernel_seconds: float = 0.0  # starting the kernel


def _client_class():
    from nbclient import NotebookClient

    class _Client(NotebookClient):
        """Keeps errors and the harness cells' stdout; drops every other output."""

        def __init__(self, nb, kinds, **kw):
            super().__init__(nb, **kw)
            self.kinds = kinds
            self.stdout = {}
            self.replies = {}

        def output(self, outs, msg, display_id, cell_index):
            if msg["msg_type"] == "stream" and msg["content"].get("name") == "stdout" \
                    and self.kinds[cell_index] == "harness":
                kept = self.stdout.setdefault(cell_index, [])
                if sum(map(len, kept)) < HARNESS_OUTPUT_LIMIT:
                    kept.append(msg["content"].get("text", ""))
            return None

    return _Client


# What a grading kernel does not need at start: debugpy (ipykernel imports it for its
# debugger, a tenth of a second of every kernel's start) and a history database.
_LEAN_LAUNCH = ("import sys\n"
                "sys.modules['debugpy'] = None  # ipykernel then starts without its debugger\n"
                "if sys.path[0] == '':\n"
                "    del sys.path[0]\n"
                "from ipykernel import kernelapp\n"
                "kernelapp.launch_new_instance()\n")


def lean_command(argv):
    """An ipykernel command (``python -m ipykernel_launcher ...``) that starts the
    same kernel without debugpy and without writing a history database; any
    other kernel's command unchanged."""
    argv = list(argv)
    for k in range(len(argv) - 1):
        if argv[k] == "-m" and argv[k + 1] == "ipykernel_launcher":
            return argv[:k] + ["-c", _LEAN_LAUNCH] + argv[k + 2:] + \
                ["--HistoryManager.enabled=False"]
    return argv


def _kernel_manager(kernel_name, cage):
    """A kernel manager whose kernel runs in ``cage`` (a sandbox.Cage), or plainly.

    In a bwrap cage the kernel has no network at all, so it talks to the
    grader over Unix sockets (ZeroMQ's ipc transport) in the cage's runtime
    folder, which both sides see at the same path; it is interrupted by a
    message (a signal could not reach it through the PID namespace).
    """
    from jupyter_client.manager import AsyncKernelManager

    if cage is None:
        return AsyncKernelManager(kernel_name=kernel_name, log=_log)

    class CagedKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments=None):
            return cage.command(lean_command(super().format_kernel_cmd(extra_arguments)))

    options = {"transport": "ipc", "ip": str(cage.runtime / "kernel")} \
        if cage.sandbox.kind == "bwrap" else {}
    km = CagedKernelManager(kernel_name=kernel_name, log=_log, **options)
    km.connection_file = str(cage.runtime / "kernel.json")
    if cage.sandbox.kind == "bwrap":
        km.kernel_spec.interrupt_mode = "message"
    return km


# --------------------------------------------------------------------------
# Kernels started ahead: the next submission's kernel boots while this one runs
# --------------------------------------------------------------------------

_SPARES = {}  # loop -> {(kernel name, sandbox id, time limit): [tasks of (cage, km, kc)]}
_KEEPERS = {}  # event loop -> the task that shuts its spares down (held: tasks are weak)


async def _launch(kernel_name, sandbox, total_timeout):
    """A fresh cage, a kernel started in it and a client connected to it: (cage, km,
    kc), ready to run cells (it answered kernel_info and its output channel is
    connected: what nbclient would otherwise wait for when the submission starts)."""
    cage = sandbox.cage(total_timeout)
    km = _kernel_manager(kernel_name, cage)
    kc = None
    try:
        await km.start_kernel(cwd=str(cage.home), env=cage.env(), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=STARTUP_TIMEOUT)
        kc.allow_stdin = False
    except BaseException:
        try:
            await _shutdown(kc, km)
        finally:
            await cage.aclose()
        raise
    return cage, km, kc


async def _take(kernel_name, sandbox, total_timeout):
    """A kernel for one submission, never shared: the one launched ahead for it if
    any, else a new one; and the next submission's, launched now."""
    loop = asyncio.get_running_loop()
    if loop not in _SPARES:
        _SPARES[loop] = {}
        _KEEPERS[loop] = asyncio.ensure_future(_keep_spares(loop))
    waiting = _SPARES[loop].setdefault((kernel_name, id(sandbox), total_timeout), [])
    ahead = waiting.pop(0) if waiting else None
    taken = None
    if ahead is not None:
        try:
            taken = await ahead
        except Exception:
            taken = None
    if taken is None:
        taken = await _launch(kernel_name, sandbox, total_timeout)
    waiting.append(asyncio.ensure_future(_launch(kernel_name, sandbox, total_timeout)))
    return taken  # (cage, km, kc)


async def _keep_spares(loop):
    """Shut the kernels launched ahead and never used down when the loop ends."""
    try:
        await asyncio.Event().wait()
    finally:  # (the launches still running are being cancelled with the loop's tasks)
        _KEEPERS.pop(loop, None)
        for tasks in _SPARES.pop(loop, {}).values():
            for launched in await asyncio.gather(*tasks, return_exceptions=True):
                if isinstance(launched, tuple):
                    cage, km, kc = launched
                    try:
                        await _shutdown(kc, km)
                    finally:
                        await cage.aclose()


async def execute(cells, *, cell_timeout, total_timeout, kernel_name="python3",
                  skip=lambda index, outcomes: False, sandbox=None, cage=None,
                  ahead=False):
    """Run cells ([(kind, source)]) in a fresh kernel; returns an Execution.

    ``skip(index, outcomes)`` may decline a cell given the outcomes so far.
    The kernel runs in ``cage`` when given (the caller closes it), else in a
    fresh cage of ``sandbox`` (default: ``sandbox.current()``), closed here;
    everything the kernel started is killed when it ends. With ``ahead`` (a
    batch), the kernel was launched while an earlier submission ran, and the
    next one's is launched now: each kernel still serves one submission only.
    """
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    from bplib.classroom import sandbox as sandboxes

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)
                                         for _, source in cells])
    result = Execution(outcomes=[Outcome() for _ in cells])
    own_cage = cage is None
    started = monotonic()
    kc = None  # a client made ready ahead, or nbclient makes one
    if own_cage and ahead:
        cage, km, kc = await _take(kernel_name, sandbox or sandboxes.current(), total_timeout)
    else:
        if own_cage:
            cage = (sandbox or sandboxes.current()).cage(total_timeout)
        km = _kernel_manager(kernel_name, cage)
    workdir = str(cage.home)
    client = _client_class()(
        nb, [kind for kind, _ in cells], km=km, log=_log, timeout=cell_timeout,
        startup_timeout=max(STARTUP_TIMEOUT, cell_timeout), interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT_NAME, "evalue": f"{cell_timeout} s", "traceback": []},
        raise_on_iopub_timeout=True, iopub_timeout=5, allow_errors=True,
        record_timing=False, shutdown_kernel="immediate",
        on_cell_executed=lambda cell, cell_index, execute_reply:
            client.replies.__setitem__(cell_index, execute_reply),
        resources={"metadata": {"path": workdir}})
    client.kc = kc  # (set after construction, which resets it)

    async def run_cells():
        async with client.async_setup_kernel(cwd=workdir, env=cage.env(),
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL):
            result.kernel_seconds = monotonic() - started
            for index, cell in enumerate(nb.cells):
                if skip(index, result.outcomes) or not cell.source.strip():
                    continue
                outcome = result.outcomes[index]
                t = monotonic()
                try:
                    await client.async_execute_cell(cell, index, execution_count=index + 1)
                finally:
                    outcome.seconds = monotonic() - t
                _record(outcome, client.replies.get(index),
                        "".join(client.stdout.get(index, [])))

    task = asyncio.ensure_future(run_cells())
    try:
        try:
            done, _ = await asyncio.wait({task}, timeout=total_timeout)
        except asyncio.CancelledError:  # the batch was interrupted
            await _kill(km)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise
        if not done:  # kill the kernel: nbclient notices and unwinds as for a death
            result.status, result.message = "timeout", \
                f"stopped after the time limit for a whole notebook ({total_timeout:g} s)"
            await _kill(km)
            done, _ = await asyncio.wait({task}, timeout=15)
            if not done:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        exc = task.exception() if task.done() and not task.cancelled() else None
        if exc is not None and result.status == "completed":
            if isinstance(exc, DeadKernelError):
                result.status, result.message = "kernel-died", "the kernel died"
            elif isinstance(exc, CellTimeoutError):
                result.status, result.message = "timeout", \
                    "the code did not stop when interrupted after the time limit for a cell"
            else:
                result.status, result.message = "grader-error", f"{type(exc).__name__}: {exc}"
        running = [o for o in result.outcomes if o.status == "not run" and o.seconds > 0]
        for outcome in running:  # the cell that was running when it all stopped
            outcome.status = "timeout" if result.status == "timeout" else "error"
            outcome.ename = {"timeout": TIMEOUT_NAME, "kernel-died": "DeadKernel"}.get(
                result.status, "Error")
    finally:
        try:
            await _shutdown(client, km)
        finally:
            if own_cage:
                await cage.aclose()
    return result


def _record(outcome, reply, stdout):
    outcome.stdout = stdout
    content = (reply or {}).get("content", {})
    if content.get("status") == "error":
        outcome.ename = content.get("ename", "")
        outcome.evalue = content.get("evalue", "")
        outcome.status = "timeout" if outcome.ename == TIMEOUT_NAME else "error"
    else:
        outcome.status = "ok"


async def _kill(km):
    try:
        if km.has_kernel:
            await km.provisioner.kill()
    except Exception:  # already gone
        pass


async def _shutdown(client, km):
    """Stop a client's channels (``client``: a kernel client, or an nbclient client
    holding one in ``.kc``, or None) and kill the kernel: a grading kernel has
    nothing to save, so it is not asked to shut down, and its exit is noticed
    within milliseconds (jupyter_client's own wait polls every 0.1 s)."""
    from jupyter_core.utils import ensure_async

    kc = getattr(client, "kc", client)
    try:
        if kc is not None:
            kc.stop_channels()
        if km.has_kernel:
            await km.provisioner.kill()
            deadline = monotonic() + 5
            while await km.provisioner.poll() is None and monotonic() < deadline:
                await asyncio.sleep(0.005)
            await asyncio.wait_for(km.provisioner.wait(), 5)
        await ensure_async(km.cleanup_resources())
    except Exception:
        pass
