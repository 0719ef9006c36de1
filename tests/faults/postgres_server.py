"""A PostgreSQL server of the test's own, on a free port, to freeze, stop and restart (never the shared one
on 5432). Made with initdb (as the `postgres` user when the tests run as root, as CI does), fsync off."""

import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg

from tests.http import free_port
from tests.processes import BASE_DIR


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise AssertionError(f"{name} is not installed (Debian package postgresql)")
    return found[-1]


class PostgresServer:
    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix=f"pg-{self.port}-"))
        self.data, self.log = self.root / "data", self.root / "server.log"
        self.log_copy = log_dir / f"postgres-{self.port}.log"
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/seatbooking"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        command = ["runuser", "-u", "postgres", "--", *argv] if self.as_postgres else list(argv)
        return subprocess.run(command, capture_output=True, text=True, check=check, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """`fast` (clients are disconnected, a clean shutdown) or `immediate` (as a crash: no checkpoint)."""
        self._run(_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def _pids(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, ...)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        return [postmaster, *map(int, children)]

    def freeze(self) -> None:
        """A database that hangs: connections stay open and nothing answers (a stalled disk, a VM paused)."""
        for pid in self._pids():
            os.kill(pid, signal.SIGSTOP)

    def thaw(self) -> None:
        for pid in self._pids():
            os.kill(pid, signal.SIGCONT)

    def create_database(self) -> None:
        """The service's database, migrated, with the demo flights (F-100 and others)."""
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{self.port}/postgres", autocommit=True) as conn:
            conn.execute("CREATE DATABASE seatbooking")
        env = {**os.environ, "DATABASE_URL": self.url, "REDIS_URL": ""}
        for command in (["migrate", "--noinput", "-v0"], ["seed_demo"]):
            subprocess.run(
                [sys.executable, "manage.py", *command], cwd=BASE_DIR, env=env, check=True, capture_output=True
            )

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(self.url, autocommit=True, connect_timeout=5)

    def remove(self) -> None:
        with_log = self.log.read_text(errors="replace") if self.log.exists() else ""
        self.log_copy.write_text(with_log)
        try:
            self.thaw()
        except (OSError, ValueError):
            pass
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)
