"""The multi-host tests (`make test-hosts`): each module gets a network of test hosts of its own, built
once for its tests and torn down after them, whatever happened (tests/hosts/layout.py). Not part of
`make test`: tests/conftest.py leaves this folder out unless TEST_HOSTS is set (the Makefile sets it)."""

import json
import os
from pathlib import Path

import pytest

from tests.hosts import layout as hosts_layout

# `make test-hosts HOSTS_SYNCHRONOUS_REPLICATION=off` runs the same tests without synchronous replication:
# they fail (an acknowledged booking is lost), which is what the setting is for.
SYNCHRONOUS = os.environ.get("HOSTS_SYNCHRONOUS_REPLICATION", "on") != "off"
FIGURES = Path(__file__).resolve().parents[2] / "var" / "test-hosts" / "figures.json"
_figures: dict[str, dict] = {}


@pytest.fixture(scope="module")
def service(request):
    assert os.geteuid() == 0, "the test hosts are network namespaces: run as root (CI does)"
    synchronous = getattr(request.module, "SYNCHRONOUS", SYNCHRONOUS)
    layout = hosts_layout.build(synchronous=synchronous)
    failed_before = request.session.testsfailed
    yield layout
    if request.session.testsfailed > failed_before:
        print(f"\n=== logs of the test hosts ({layout.base})\n{hosts_layout.logs(layout)}")
    layout.network.close()


@pytest.fixture
def figures(request):
    """What a test measured, kept in var/test-hosts/figures.json and printed at the end (docs/deployment.md)."""
    measured: dict = {}
    yield measured
    if measured:
        _figures[request.node.name] = measured


def pytest_terminal_summary(terminalreporter):
    if _figures:
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        FIGURES.write_text(json.dumps(_figures, indent=2) + "\n")
        terminalreporter.write_sep("=", f"figures measured on the test hosts ({FIGURES})")
        terminalreporter.write_line(json.dumps(_figures, indent=2))
