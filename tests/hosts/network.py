"""Test hosts on one machine: each a network namespace with its own address on one bridge.

A host is `ip netns add sbh-<name>` with a veth pair: `eth0` inside (its address, 10.77.0.x/24) and
`sbh-<name>` on the bridge `sbh0` in the machine's own namespace, which has 10.77.0.1: the test process
reaches every host directly. A host's processes are started with `ip netns exec`; they see only its
network (and the machine's files and processes).

Faults: `cut` takes the host's link down (nothing goes in or out, no error either: packets vanish, as a
pulled cable); `block` drops this host's traffic to one address only; `kill` SIGKILLs every process in
the host; `die` cuts, then kills (a host that died, unheard). `remove_all` deletes every sbh- namespace, the bridge and
the runs' directories, also those a run that crashed left behind. Needs root (CI runs as root).
"""

import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "sbh-"
RUN_PREFIX = "sbh-run-"  # a run's directory under the temporary directory (tests/hosts/layout.py)
BRIDGE = "sbh0"
SUBNET = "10.77.0"
GATEWAY = f"{SUBNET}.1"
NOBODY = f"{SUBNET}.254"  # an address no host has


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True)


@dataclass
class Host:
    name: str
    address: str
    log_dir: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def namespace(self) -> str:
        return PREFIX + self.name

    @property
    def link(self) -> str:  # the bridge's end of its veth pair
        return PREFIX + self.name

    def start(
        self,
        label: str,
        argv: list[str],
        *,
        env: dict[str, str] | None = None,
        user: str | None = None,
        cwd: Path | None = None,
    ) -> subprocess.Popen:
        """Run `argv` in this host (as `user` if given); its output goes to <log_dir>/<host>-<label>.log."""
        prefix = ["ip", "netns", "exec", self.namespace]
        if user:
            prefix += ["runuser", "-u", user, "--"]
        log = open(self.log_dir / f"{self.name}-{label}.log", "a")
        process = subprocess.Popen(
            [*prefix, *argv],
            env={**os.environ, **(env or {})},
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.processes.append(process)
        return process

    def run(self, argv: list[str], *, user: str | None = None, timeout: float = 60) -> str:
        prefix = ["ip", "netns", "exec", self.namespace] + (["runuser", "-u", user, "--"] if user else [])
        done = subprocess.run([*prefix, *argv], capture_output=True, text=True, timeout=timeout)
        if done.returncode:
            raise AssertionError(f"{self.name}: {' '.join(argv)} failed: {done.stdout}{done.stderr}")
        return done.stdout

    def pids(self) -> list[int]:
        listed = ip("netns", "pids", self.namespace, check=False).stdout.split()
        return [int(pid) for pid in listed]

    def kill(self) -> None:
        """The host dies: every process in it is SIGKILLed at once (its sockets close with it)."""
        kill_namespace(self.namespace)
        for process in self.processes:
            process.wait()

    def cut(self) -> None:
        ip("link", "set", self.link, "down")

    def die(self) -> None:
        """The host dies as a machine does: its link goes first, so nobody hears its sockets close (no
        reset, no FIN): connections to it wait for their timeouts, as they would on a real network."""
        self.cut()
        self.kill()

    def restore(self) -> None:
        ip("link", "set", self.link, "up")

    def block(self, address: str) -> None:
        """This host's packets to `address` go to a next hop nobody has: dropped without an answer (open
        connections hang; a new one fails after the address lookup gives up, about 3 s)."""
        ip("-n", self.namespace, "route", "add", f"{address}/32", "via", NOBODY)

    def unblock(self, address: str) -> None:
        ip("-n", self.namespace, "route", "del", f"{address}/32", "via", NOBODY)


class Network:
    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.hosts: dict[str, Host] = {}
        ip("link", "add", BRIDGE, "type", "bridge")
        ip("addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        ip("link", "set", BRIDGE, "up")

    def add(self, name: str, last_octet: int) -> Host:
        host = Host(name, f"{SUBNET}.{last_octet}", self.log_dir)
        ns = host.namespace
        ip("netns", "add", ns)
        ip("link", "add", host.link, "type", "veth", "peer", "name", "eth0", "netns", ns)
        ip("link", "set", host.link, "master", BRIDGE)
        ip("link", "set", host.link, "up")
        ip("-n", ns, "addr", "add", f"{host.address}/24", "dev", "eth0")
        ip("-n", ns, "link", "set", "eth0", "up")
        ip("-n", ns, "link", "set", "lo", "up")
        self.hosts[name] = host
        return host

    def __getitem__(self, name: str) -> Host:
        return self.hosts[name]

    def close(self) -> None:
        for host in self.hosts.values():
            host.kill()
        remove_all()


def remove_all() -> None:
    """Every test host's processes killed, its namespace deleted, and the links: nothing is left."""
    for line in ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        if name.startswith(PREFIX):
            kill_namespace(name)
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show", check=False).stdout.splitlines():
        link = line.split(":")[1].strip().split("@")[0] if ":" in line else ""
        if link.startswith(PREFIX) or link == BRIDGE:
            ip("link", "del", link, check=False)
    for run in Path(tempfile.gettempdir()).glob(RUN_PREFIX + "*"):  # the runs' data and logs
        shutil.rmtree(run, ignore_errors=True)


def kill_namespace(name: str, timeout: float = 10) -> None:
    """SIGKILL every process in the namespace until none is left (a dying process may still fork)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pids = ip("netns", "pids", name, check=False).stdout.split()
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"processes left in {name} after {timeout} s")


if __name__ == "__main__":  # `python -m tests.hosts.network`: remove what a crashed run left (make test-hosts)
    remove_all()
