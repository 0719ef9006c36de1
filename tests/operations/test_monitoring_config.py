"""The alert rules and the Grafana board: promtool checks and unit-tests the rules, and every metric they
name is one that GET /metrics really emits (read from a scrape of a busy service, not from a list)."""

import json
import re
import shutil
import subprocess

import pytest
from django.test import Client
from prometheus_client.parser import text_string_to_metric_families

from core import health
from tests.conftest import IN_CI
from tests.processes import BASE_DIR

PROMETHEUS = BASE_DIR / "deploy" / "prometheus"
GRAFANA = BASE_DIR / "deploy" / "grafana" / "seatbooking.json"
SUFFIXES = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"], "gauge": [""]}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        message = "needs promtool (apt-get install prometheus)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_promtool_checks_the_rules():
    result = subprocess.run(
        [promtool(), "check", "rules", "alerts.yml"], cwd=PROMETHEUS, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 14 rules found" in result.stdout


def test_promtool_checks_the_example_scrape_config():
    """It scrapes the request side and the streams process apart (alerts.yml's header says why)."""
    import yaml

    result = subprocess.run(
        [promtool(), "check", "config", "prometheus.yml"], cwd=PROMETHEUS, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    jobs = {job["job_name"] for job in yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())["scrape_configs"]}
    assert jobs == {"seatbooking-web", "seatbooking-streams"}


def test_promtool_unit_tests_the_rules():
    result = subprocess.run(
        [promtool(), "test", "rules", "alerts_test.yml"], cwd=PROMETHEUS, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.fixture
def emitted(db, settings, flight, monkeypatch) -> set[str]:
    """Every series name a scrape of this service carries, after some traffic (so labelled families exist)."""
    from orders import queue
    from orders.metrics import refresh_snapshot
    from tests.operations.burst import run_burst

    monkeypatch.setattr(queue, "enqueue_payment", lambda order_id: None)
    run_burst(flight.code)
    refresh_snapshot()
    health.beat("timers")
    settings.METRICS_TOKEN = "a-long-scrape-token"
    Client().get("/flights")
    text = Client().get("/metrics", HTTP_AUTHORIZATION="Bearer a-long-scrape-token").content.decode()
    names = set()
    for family in text_string_to_metric_families(text):
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, [""])}
        names |= {sample.name for sample in family.samples}
    return names


def named_metrics(expression: str) -> set[str]:
    return set(re.findall(r"\bseatbooking_[a-z_]+", expression))


# Read from the database (orders/metrics.py, core/metrics.py's HeartbeatCollector): every scrape target
# exports the same figures, so a sum over targets counts them once per target.
DATABASE_DERIVED = re.compile(
    r"seatbooking_(orders|seat_holds|payment_attempts|expiry_lateness|flight_seats|heartbeat_age|metrics_snapshot|refund"
    r"|seat_changes)"
)


def sums_over_database_figures(expression: str) -> list[str]:
    """The arguments of every `sum` in the expression that reach a database-derived metric with no `max`
    (or `min`) over targets in between."""
    found = []
    for match in re.finditer(r"\bsum\s*(by\s*\([^)]*\)\s*)?\(", expression):
        depth, end = 1, match.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(expression[end], 0)
            end += 1
        argument = expression[match.end() : end - 1]
        if DATABASE_DERIVED.search(argument) and not re.search(r"\b(max|min)\b", argument):
            found.append(argument)
    return found


def test_the_sum_check_catches_a_sum_over_database_figures():
    assert sums_over_database_figures("sum by (outcome) (rate(seatbooking_payment_attempts_total[5m]))")
    assert not sums_over_database_figures("sum(max by (outcome) (rate(seatbooking_payment_attempts_total[5m])))")
    assert not sums_over_database_figures("sum by (kind) (seatbooking_open_event_streams)")


def test_every_rule_names_a_metric_the_service_emits(emitted):
    import yaml

    rules = [
        rule for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"] for rule in group["rules"]
    ]
    assert {rule["alert"] for rule in rules} >= {
        "ExpiryLate",
        "PaymentSuccessRateLow",
        "TimerLoopDown",
        "WorkersDown",
        "EventDeliveryDegraded",
        "ServerErrors",
        "WebSaturated",
        "DatabasePoolSaturated",
        "RefundStuck",
        "RefundsFailing",
        "SeatChangeStuck",
    }
    for rule in rules:
        assert not sums_over_database_figures(rule["expr"]), rule["alert"]
        if rule["alert"] == "ScrapeTargetDown":  # Prometheus' own `up` of each target
            assert rule["expr"].startswith("up{"), rule["expr"]
            continue
        used = named_metrics(rule["expr"])
        assert used, rule["alert"]
        assert used <= emitted, f"{rule['alert']} names {used - emitted}, which /metrics does not emit"


def test_the_grafana_board_is_well_formed_and_names_only_emitted_metrics(emitted):
    board = json.loads(GRAFANA.read_text())
    assert "__inputs" not in board or "${DS_" in GRAFANA.read_text()  # a declared input is used
    assert board["uid"] and board["title"] and board["panels"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        assert {"title", "type", "gridPos", "targets"} <= panel.keys(), panel.get("title")
        assert panel["datasource"]["uid"] == "${datasource}"
        for target in panel["targets"]:
            used = named_metrics(target["expr"])
            assert used, (panel["title"], target["expr"])
            assert used <= emitted, f"{panel['title']}: {used - emitted} not emitted by /metrics"
            assert target["expr"].count("(") == target["expr"].count(")"), target["expr"]
            assert not sums_over_database_figures(target["expr"]), (panel["title"], target["expr"])
            if DATABASE_DERIVED.search(target["expr"]):  # one series per target otherwise
                assert re.search(r"\b(max|min)\b", target["expr"]), (panel["title"], target["expr"])
    assert named_metrics(json.dumps(board)) <= emitted
    panel_titles = " ".join(panel["title"] for panel in board["panels"]).lower()
    subjects = ("by flight", "holds", "payment", "lateness", "heartbeat", "stream", "delivery", "5xx", "pool")
    for subject in (*subjects, "refunds", "seat changes"):
        assert subject in panel_titles, subject
