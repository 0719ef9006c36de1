"""`make audit`: pip-audit against the lock that production installs (requirements.txt), without a venv.

The lock is read as it is (hashed pins: no resolution, no pip, nothing built) and each pinned version is
looked up in a vulnerability database:
- AUDIT_OSV_URL, when set: an OSV API (a mirror, or a local osv server over a downloaded database), so
  the audit runs offline;
- otherwise PyPI's JSON API, which reports the known vulnerabilities of each release.
A known vulnerability fails the audit (exit 1, each one named with the versions that fix it). No database
to ask is not a fault of the code: when the service cannot be reached, or answers for none of the
packages, the audit says so and is skipped (exit 0), so CI does not go red because the network is away.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.txt"
# What pip-audit's log says when it had no answer from the service (requests' and its own errors).
UNREACHABLE = ("ConnectionError", "ConnectTimeout", "ReadTimeout", "ServiceError", "Could not connect", "timed out")


def service() -> tuple[str, list[str]]:
    """The database's name for the messages, and pip-audit's options that pick it."""
    osv_url = os.environ.get("AUDIT_OSV_URL", "")
    if osv_url:
        return f"OSV at {osv_url}", ["--vulnerability-service", "osv", "--osv-url", osv_url]
    return "PyPI", ["--vulnerability-service", "pypi"]


def run_pip_audit(lock: Path, report: Path, options: list[str]) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(lock), "--require-hashes", "--disable-pip"]
    command += ["--format", "json", "--output", str(report), "--progress-spinner", "off"]
    command += ["--timeout", os.environ.get("AUDIT_TIMEOUT_SECONDS", "15"), *options]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def audit(lock: Path = LOCK) -> int:
    name, options = service()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "audit.json"
        done = run_pip_audit(lock, report, options)
        if not report.exists():
            if any(sign in done.stderr for sign in UNREACHABLE):
                last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else ""
                print(f"make audit: skipped: the vulnerability database ({name}) cannot be reached: {last}")
                return 0
            print(done.stderr, file=sys.stderr)
            print(f"make audit: pip-audit failed on {lock.name} (exit {done.returncode})", file=sys.stderr)
            return done.returncode or 1
        dependencies = json.loads(report.read_text())["dependencies"]
    return verdict(dependencies, name, lock)


def verdict(dependencies: list[dict], name: str, lock: Path) -> int:
    audited = [d for d in dependencies if "skip_reason" not in d]
    skipped = [d for d in dependencies if "skip_reason" in d]
    vulnerable = [(d, vuln) for d in audited for vuln in d.get("vulns", [])]
    for dependency, vuln in vulnerable:
        fixed = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
        aliases = ", ".join(vuln.get("aliases", []))
        print(f"{dependency['name']} {dependency['version']}: {vuln['id']} ({aliases}), fixed in {fixed}")
    if vulnerable:
        print(
            f"make audit: {len(vulnerable)} known vulnerabilities in {lock.name} ({name}): update the lock (make lock)"
        )
        return 1
    if not audited:
        reason = skipped[0]["skip_reason"] if skipped else "the lock names no package"
        print(f"make audit: skipped: {name} answered for none of the {len(skipped)} packages ({reason})")
        return 0
    if skipped:
        print(f"make audit: not audited ({name} has no answer): {', '.join(d['name'] for d in skipped)}")
    print(f"make audit: no known vulnerability in the {len(audited)} audited packages of {lock.name} ({name})")
    return 0


if __name__ == "__main__":
    sys.exit(audit())
