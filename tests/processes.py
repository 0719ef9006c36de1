"""Start the service's real processes (django-q2 cluster, timer loop) against the test database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import cast

from django.conf import settings
from django.db import connection

BASE_DIR = Path(__file__).resolve().parent.parent


def test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


class Processes:
    """Processes started by a test; whatever is still running at the end is killed."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.env: dict[str, str] = {}
        self.running: list[subprocess.Popen] = []
        self.killed: set[int] = set()

    def configure(self, django_settings, **values) -> None:
        """Give the test process and the processes it starts the same settings."""
        for name, value in values.items():
            setattr(django_settings, name, value)
            self.env[name] = str(value)

    def start(self, command: str, *args: str) -> subprocess.Popen:
        """Start `manage.py command args...`."""
        return self.start_argv(command, [sys.executable, "manage.py", command, *args])

    def start_web(self, port: int) -> subprocess.Popen:
        """The ASGI server, as `make run` starts it (deploy/serve.py: uvicorn with its bounds)."""
        argv = [sys.executable, "-m", "deploy.serve", "--host", "127.0.0.1", "--port", str(port)]
        return self.start_argv("web", [*argv, "--log-level", "warning"])

    def start_argv(self, name: str, argv: list[str]) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}-{len(self.running)}.log", "w")
        process = subprocess.Popen(
            argv,
            cwd=BASE_DIR,
            env={**os.environ, "DATABASE_URL": test_database_url(), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so that kill() reaches the cluster's workers
        )
        log.close()  # the process has its own copy
        self.running.append(process)
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the process and its children: a crash, not a shutdown."""
        self.killed.add(process.pid)
        try:  # the whole group, even if its leader is gone: a cluster's workers may outlive it
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()

    def stop(self, process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 30) -> float:
        """Send `sig` to the process alone (as a process manager does); seconds until it exited."""
        started = time.monotonic()
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout} s after signal {sig}:\n{self.logs()}") from None
        self.killed.add(process.pid)  # it was stopped on purpose, whatever its exit code
        return time.monotonic() - started

    def kill_all(self) -> None:
        """Stop everything; a process that had died on its own fails the test, with its log."""
        crashed = [p for p in self.running if p.pid not in self.killed and p.poll() not in (None, 0)]
        for process in self.running:
            self.kill(process)
        if crashed:
            names = ", ".join(" ".join(cast(list[str], p.args)[2:4]) for p in crashed)  # argv lists (start_argv)
            raise AssertionError(f"exited on its own: {names}\n{self.logs()}")

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted(self.log_dir.glob("*.log")))


def wait_until(condition, *, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


__all__ = ["Processes", "settings", "wait_until"]
