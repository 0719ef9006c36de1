"""A Redis server of the test's own, on a free port, to stop and start (never the shared one on 6379)."""

import shutil
import signal
import subprocess
import time
from pathlib import Path

import redis

from tests.http import free_port


class RedisServer:
    def __init__(self, log_dir: Path) -> None:
        if shutil.which("redis-server") is None:
            raise AssertionError("redis-server is not installed (Debian package redis-server)")
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log = log_dir / f"redis-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no"],
            stdout=self.log.open("a"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_timeout=0.5).ping():
                    return
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        raise AssertionError(f"Redis did not start on port {self.port}")

    def stop(self) -> None:
        """Gone at once, as a crashed or restarted Redis is: every client's connection breaks."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def pause(self) -> None:
        """A Redis that hangs: connections stay open, nothing answers."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def subscribers(self, channel: str) -> int:
        return dict(redis.Redis(port=self.port).pubsub_numsub(channel)).get(channel.encode(), 0)
