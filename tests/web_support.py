"""Test support for the dashboard: a live server on 127.0.0.1 and a headless Chromium.

* :func:`live_server` (session fixture): ``python -m corridor.cli.web`` (the ``corridor serve``
  command) in a subprocess, on 127.0.0.1 and a free port, with its own results folder; waits
  for ``/api/health`` and stops the server (SIGTERM, then SIGKILL) at the end.
* :func:`browser` (session fixture): Chromium driven by Playwright's Python package. Playwright's
  own browser downloads are not used: the system's Chromium (Debian: ``apt-get install -y
  chromium``) is launched through ``executable_path``. ``$CORRIDOR_CHROMIUM`` names another
  binary. The fixture skips, saying why, when the package or the browser is missing.

Every connection goes to 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

HOST = "127.0.0.1"
START_TIMEOUT = 90.0  # seconds for the server to answer /api/health (imports on a busy machine)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    port: int
    results: Path
    process: subprocess.Popen[bytes]
    log: Path

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def serve(
    results: Path,
    *,
    workers: int = 1,
    queue: int = 8,
    token: str | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[LiveServer]:
    """Run the dashboard on 127.0.0.1 and a free port until the block ends."""
    results.mkdir(parents=True, exist_ok=True)
    log = results.parent / f"{results.name}-server.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("CORRIDOR_TOKEN", None)
    last_error = ""
    for _attempt in range(3):  # another process may take the port between probe and bind
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "corridor.cli.web",
            "--host",
            HOST,
            "--port",
            str(port),
            "--results",
            str(results),
            "--workers",
            str(workers),
            "--queue",
            str(queue),
            "--log-level",
            "warning",
            *(("--token", token) if token else ()),
            *extra,
        ]
        with open(log, "ab") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
        server = LiveServer(f"http://{HOST}:{port}", port, results, proc, log)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        deadline = time.monotonic() + START_TIMEOUT
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if httpx.get(f"{server.url}/api/health", headers=headers, timeout=2).status_code:
                    up = True
                    break
            except httpx.HTTPError:
                time.sleep(0.25)
        if up:
            try:
                yield server
            finally:
                _stop(proc)
            return
        _stop(proc)
        last_error = server.log_tail()
        if "address already in use" not in last_error.lower():
            break
    pytest.fail(f"the dashboard server did not start:\n{last_error}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """The dashboard on 127.0.0.1 (one process worker, queue of 8), for the whole session."""
    with serve(tmp_path_factory.mktemp("web") / "results") as server:
        yield server


def chromium_executable() -> str | None:
    """The Chromium to drive: ``$CORRIDOR_CHROMIUM``, else chromium on the PATH."""
    given = os.environ.get("CORRIDOR_CHROMIUM")
    if given:
        return given if Path(given).is_file() else None
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def install_chromium() -> str | None:
    """Install Debian's chromium with apt when it is missing and we may (root, apt present).

    Browser downloads (``playwright install``) are not reachable here; the package registry is.
    Set ``CORRIDOR_NO_APT=1`` to forbid this.
    """
    exe = chromium_executable()
    if exe is not None or os.environ.get("CORRIDOR_NO_APT"):
        return exe
    if shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        try:
            subprocess.run(cmd, check=True, env=env, timeout=900, capture_output=True)
        except (OSError, subprocess.SubprocessError):
            return None
    return chromium_executable()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium (Playwright), or a skip that says what is missing."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("the browser test needs Playwright's Python package: pip install playwright")
    exe = install_chromium()
    if exe is None:
        pytest.skip(
            "the browser test needs Chromium: apt-get install -y chromium (Debian), or set "
            "CORRIDOR_CHROMIUM to a Chromium binary; 'playwright install' is not used"
        )
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(
                executable_path=exe,
                headless=True,
                args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
            )
        except PlaywrightError as exc:
            pytest.skip(f"Chromium at {exe} did not start under Playwright: {exc}")
        try:
            yield chromium
        finally:
            chromium.close()
