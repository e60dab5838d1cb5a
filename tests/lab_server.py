"""A JupyterLab server for a test: started on a free loopback port, waited for, and stopped."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running(args: list, *, cwd: Path, env: dict, log: Path, token: str = ""):
    """``jupyter lab ARGS --ServerApp.port=… --IdentityProvider.token=TOKEN`` until the block ends;
    yields its URL once /api/status answers (the test fails with the log's tail if it never does)."""
    port = free_port()
    headers = {"Authorization": f"token {token}"} if token else {}
    with open(log, "w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", *args, "--no-browser", f"--ServerApp.port={port}",
             "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}"],
            cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(f"{url}/api/status", headers=headers), timeout=2).close()
            break
        except (OSError, urllib.error.HTTPError):
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail("JupyterLab did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.5)
    try:
        yield url
    finally:
        server.terminate()
        try:
            server.wait(15)
        except subprocess.TimeoutExpired:
            server.kill()
