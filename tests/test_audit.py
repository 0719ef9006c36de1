"""`make audit` (lint/audit.py) against a local OSV database, as an offline machine would use one: a known
vulnerability in the lock fails it, a clean lock passes, and no database to ask skips it with a message."""

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lint.audit import ROOT
from tests.http import free_port

LOCKED_DJANGO = "5.2.20"
ADVISORY = {
    "id": "PYSEC-0000-0001",
    "aliases": ["CVE-0000-0001"],
    "summary": "A made-up flaw of the locked Django, for the test",
    "affected": [
        {
            "package": {"name": "django", "ecosystem": "PyPI"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.2.99"}]}],
            "versions": [LOCKED_DJANGO],
        }
    ],
}


def osv_database(advisories: dict[tuple[str, str], list[dict]]):
    """An OSV API on this machine (POST /v1/query): the advisories of each (package, version)."""

    class Query(BaseHTTPRequestHandler):
        def do_POST(self):
            asked = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            found = advisories.get((asked["package"]["name"], asked["version"]), [])
            body = json.dumps({"vulns": found} if found else {}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Query)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def make_audit(osv_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "AUDIT_OSV_URL": osv_url, "AUDIT_TIMEOUT_SECONDS": "5"}
    return subprocess.run(
        [sys.executable, "-m", "lint.audit"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def database():
    servers = []

    def start(advisories):
        servers.append(osv_database(advisories))
        return f"http://127.0.0.1:{servers[-1].server_address[1]}/v1/query"

    yield start
    for server in servers:
        server.shutdown()


def test_the_lock_is_django_s_latest_security_release():
    assert f"django=={LOCKED_DJANGO} " in (ROOT / "requirements.txt").read_text()


def test_a_known_vulnerability_in_the_lock_fails_the_audit(database):
    done = make_audit(database({("django", LOCKED_DJANGO): [ADVISORY]}))
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"django {LOCKED_DJANGO}: PYSEC-0000-0001 (CVE-0000-0001), fixed in 5.2.99" in done.stdout
    assert "1 known vulnerabilities in requirements.txt" in done.stdout


def test_a_lock_without_known_vulnerabilities_passes(database):
    done = make_audit(database({("django", "4.2.0"): [ADVISORY]}))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no known vulnerability in the" in done.stdout and "audited packages of requirements.txt" in done.stdout


def test_no_database_to_ask_skips_the_audit_with_a_message():
    done = make_audit(f"http://127.0.0.1:{free_port()}/v1/query")  # nothing listens there
    assert done.returncode == 0, done.stdout + done.stderr
    assert "make audit: skipped: the vulnerability database (OSV at http://127.0.0.1:" in done.stdout
