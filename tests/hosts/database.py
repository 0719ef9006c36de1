"""PostgreSQL on the test hosts: an etcd member and a Patroni-managed PostgreSQL 15 on each database host,
configured from deploy/hosts/patroni.yml. Patroni runs as the postgres user (initdb refuses root); etcd and
the data live under the run's directory."""

import json
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

from tests.hosts.network import SUBNET, Host

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "deploy" / "hosts" / "patroni.yml"
TTL, RETRY_TIMEOUT = 10, 4  # a dead primary is replaced within about TTL + 1 s (loop_wait)


def pg_bin_dir() -> str:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert found, "PostgreSQL's server binaries are missing (apt-get install postgresql)"
    return str(found[-1].parent)


def start_etcd(hosts: list[Host], base: Path) -> None:
    cluster = ",".join(f"{h.name}=http://{h.address}:2380" for h in hosts)
    for host in hosts:
        data = base / host.name / "etcd"
        data.mkdir(parents=True)
        host.start(
            "etcd",
            [
                shutil.which("etcd") or "/usr/bin/etcd",
                "--name", host.name,
                "--data-dir", str(data),
                "--listen-client-urls", f"http://{host.address}:2379",
                "--advertise-client-urls", f"http://{host.address}:2379",
                "--listen-peer-urls", f"http://{host.address}:2380",
                "--initial-advertise-peer-urls", f"http://{host.address}:2380",
                "--initial-cluster", cluster,
                "--initial-cluster-state", "new",
                "--initial-cluster-token", "seatbooking",
                "--log-level", "warn",
            ],
        )  # fmt: skip


def patroni_config(host: Host, hosts: list[Host], base: Path, *, synchronous: bool) -> Path:
    host_dir = base / host.name
    values = {
        "NAME": host.name,
        "ADDRESS": host.address,
        "ETCD_HOSTS": ",".join(f"{h.address}:2379" for h in hosts),
        "TTL": str(TTL),
        "RETRY_TIMEOUT": str(RETRY_TIMEOUT),
        "SYNCHRONOUS": "true" if synchronous else "false",
        "SUBNET": f"{SUBNET}.0/24",
        "DATA_DIR": str(host_dir / "data"),
        "BIN_DIR": pg_bin_dir(),
        "HOST_DIR": str(host_dir),
    }
    text = TEMPLATE.read_text()
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    assert not re.findall(r"@[A-Z_]+@", text), text
    config = host_dir / "patroni.yml"
    config.write_text(text)
    return config


def start_patroni(host: Host, hosts: list[Host], base: Path, *, synchronous: bool) -> None:
    host_dir = base / host.name
    config = patroni_config(host, hosts, base, synchronous=synchronous)
    subprocess.run(["chown", "-R", "postgres:postgres", str(host_dir)], check=True)
    host_dir.chmod(0o700)
    host.start("patroni", ["/usr/bin/patroni", str(config)], user="postgres", cwd=host_dir)


def rest(host: Host, path: str, timeout: float = 2) -> tuple[int, dict]:
    """Patroni's REST API on `host`: (status, body); (0, {}) if it does not answer."""
    try:
        with urllib.request.urlopen(f"http://{host.address}:8008{path}", timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError:
        return 0, {}


def members(hosts: list[Host]) -> list[dict]:
    """The cluster as any live member's Patroni sees it (GET /cluster)."""
    for host in hosts:
        status, body = rest(host, "/cluster")
        if status == 200:
            return body.get("members", [])
    return []


def leader(hosts: list[Host]) -> str | None:
    for member in members(hosts):
        if member.get("role") == "leader" and member.get("state") == "running":
            return member["name"]
    return None


def wait_for_cluster(hosts: list[Host], *, synchronous: bool, timeout: float = 120) -> str:
    """Until there is a leader and every other member streams from it (one as the synchronous standby
    when `synchronous`); returns the leader's name."""
    deadline = time.monotonic() + timeout
    seen: list[dict] = []
    while time.monotonic() < deadline:
        seen = members(hosts)
        roles = sorted(m.get("role", "") for m in seen if m.get("state") in ("running", "streaming"))
        ready = len(roles) == len(hosts) and roles.count("leader") == 1
        if synchronous:
            ready = ready and "sync_standby" in roles
        if ready:
            name = leader(hosts)
            if name:
                return name
        time.sleep(0.5)
    raise AssertionError(f"no Patroni cluster within {timeout} s: {seen}")


def database_url(hosts: list[Host], name: str) -> str:
    """libpq's multi-host form: every database host, the first that takes writes wins."""
    return f"postgres://postgres@{','.join(h.address for h in hosts)}/{name}?target_session_attrs=read-write"
