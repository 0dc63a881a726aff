"""Run the real ``twistd mongooseim`` and ``mongooseimctl`` in subprocesses for tests."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

__all__ = ["free_port", "bin_path", "ServerProcess", "http_json", "write_config"]

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bin_path(name: str) -> str:
    """A console script installed beside the running interpreter."""
    return os.path.join(os.path.dirname(sys.executable), name)


def write_config(directory: str, text: str) -> str:
    """Write ``text`` to ``directory/mongooseim.toml`` and return its path."""
    path = os.path.join(directory, "mongooseim.toml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def http_json(method: str, url: str, body=None, headers=None, timeout=10):
    """Send a request; return (status, parsed JSON body or raw text or None)."""
    data = None
    all_headers = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


class ServerProcess:
    """``twistd -n mongooseim -c CONFIG`` started in ``workdir``."""

    def __init__(self, config_path: str, workdir: str, extra_env=None):
        self.config_path = config_path
        self.workdir = workdir
        env = dict(os.environ)
        env.pop("MONGOOSEIM_CONFIG", None)
        env.update(extra_env or {})
        self.log_path = os.path.join(workdir, "server.log")
        self._log = open(self.log_path, "wb")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            [bin_path("twistd"), "--pidfile=", "-n", "mongooseim", "-c", config_path],
            cwd=workdir,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
        )

    def output(self) -> str:
        """Everything the server printed so far."""
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_for_port(self, port: int, timeout: float = 15.0) -> float:
        """Wait until ``port`` accepts connections; return the seconds it took."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"server exited early:\n{self.output()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    return time.monotonic() - self.started_at
            except OSError:
                time.sleep(0.05)
        raise AssertionError(f"port {port} not open after {timeout}s:\n{self.output()}")

    def terminate(self, timeout: float = 15.0) -> int:
        """Send SIGTERM and wait; return the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        """Make sure the process is gone (test clean-up)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        if not self._log.closed:
            self._log.close()
