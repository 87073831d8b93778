"""Fixtures for the browser tests: a JupyterLab server and headless Chromium.

The server runs from the installed package on a loopback port with a random
token, over a throwaway copy of the course (JupyterLab saves notebooks it
runs; the committed ones must not change) and throwaway config, data,
runtime and settings folders. Chromium is Debian's, driven by Playwright
(never a browser download). Screenshots go to artifacts/e2e/.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "e2e"
CHROMIUM = os.environ.get("BPLIB_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
# Without these, Chromium spends its time on connections this machine refuses.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _missing(reason):
    """Skip on a developer's machine without a browser; fail in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"browser tests cannot run in CI: {reason}")
    pytest.skip(reason)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A running JupyterLab: its URL, token and a small REST client."""

    def __init__(self, port, token, root, process):
        self.port, self.token, self.root, self.process = port, token, root, process
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path):
        request = urllib.request.Request(f"{self.url}/api/{path}",
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def kernel_for(self, notebook):
        """The kernel of the session open on a notebook path, or None."""
        for session in self.api("sessions"):
            if session.get("path") == notebook and session.get("kernel"):
                return session["kernel"]["id"]
        return None

    def wait_kernel_ready(self, notebook, timeout=60):
        """Until the notebook's kernel is idle with a browser connected.

        The toolbar says idle before the kernel exists, and "Run All" clicked
        then does nothing; the kernels API is the truth (it may answer 500
        while the kernel starts).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                kernel_id = self.kernel_for(notebook)
                if kernel_id:
                    kernel = self.api(f"kernels/{kernel_id}")
                    if kernel["execution_state"] == "idle" and kernel.get("connections", 0) > 0:
                        return kernel_id
            except (urllib.error.URLError, OSError, ValueError):
                pass
            time.sleep(0.25)
        raise TimeoutError(f"the kernel of {notebook} was not ready within {timeout} s")

    def kernel_state(self, kernel_id):
        try:
            return self.api(f"kernels/{kernel_id}")["execution_state"]
        except (urllib.error.URLError, OSError, ValueError):
            return "unknown"


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory):
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        _missing("JupyterLab is not installed (pip install -e '.[lab,test]')")
    base = tmp_path_factory.mktemp("lab")
    root = base / "course"
    for folder in ("notebooks", "solutions", "exercises"):
        shutil.copytree(ROOT / folder, root / folder)
    settings = base / "settings" / "@jupyterlab" / "apputils-extension"
    settings.mkdir(parents=True)
    # Don't ask about news: that notification would cover the notebook.
    (settings / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False}))
    env = {**os.environ,
           "JUPYTER_CONFIG_DIR": str(base / "config"),
           "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
           "JUPYTER_DATA_DIR": str(base / "data"),
           "JUPYTERLAB_WORKSPACES_DIR": str(base / "workspaces")}
    env.pop("MPLBACKEND", None)
    port, token = _free_port(), secrets.token_hex(16)
    log = open(base / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
         f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", f"--LabApp.user_settings_dir={base / 'settings'}",
         f"--LabApp.workspaces_dir={base / 'workspaces'}",
         "--LabApp.news_url=", "--ServerApp.disable_check_xsrf=True"]
        + (["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []),
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    server = LabServer(port, token, root, process)
    deadline = time.monotonic() + 60
    while True:
        try:
            server.api("status")
            break
        except (urllib.error.URLError, OSError, ValueError):
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                raise RuntimeError("JupyterLab did not start:\n"
                                   + (base / "server.log").read_text()[-3000:])
            time.sleep(0.3)
    yield server
    os.killpg(process.pid, signal.SIGTERM)  # stop it by its process id, children too
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    if not Path(CHROMIUM).exists():
        _missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1000})
        yield context
        context.close()


@pytest.fixture(scope="module")
def screenshot_dir():
    shutil.rmtree(ARTIFACTS, ignore_errors=True)  # only this run's screenshots
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS
