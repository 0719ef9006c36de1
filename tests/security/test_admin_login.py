"""The admin's login cannot be brute-forced, nor used to starve the booking requests: one address guessing is
locked out (and every attempt while locked out is refused before any password is hashed), the operator
still logs in from elsewhere, every failure is on record, and password hashes run a bounded number at once."""

import threading
from typing import Any

import pytest
from axes.models import AccessAttempt, AccessFailureLog
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import get_hasher
from django.core.management import call_command
from django.test import Client

from seatbooking import abuse_settings

PASSWORD = "correct horse battery staple"


@pytest.fixture
def operator(db, settings):
    settings.AXES_FAILURE_LIMIT = abuse_settings.AXES_FAILURE_LIMIT  # as shipped, whatever the environment
    return get_user_model().objects.create_superuser("operator", "ops@example.com", PASSWORD)


@pytest.fixture
def hashes(monkeypatch):
    """Counts the password hashes run (a check hashes the typed password; so does an unknown username)."""
    hasher = type(get_hasher())
    count = [0]
    encode = hasher.encode

    def counting(self, *args, **kwargs):
        count[0] += 1
        return encode(self, *args, **kwargs)

    monkeypatch.setattr(hasher, "encode", counting)
    return count


def log_in(address, password, username="operator"):
    browser = Client(REMOTE_ADDR=address)
    return browser.post("/admin/login/?next=/admin/", {"username": username, "password": password})


def test_one_address_guessing_passwords_is_locked_out_before_hashing_and_the_failures_are_recorded(operator, hashes):
    attacker = "203.0.113.9"
    answers = [log_in(attacker, f"guess-{n}").status_code for n in range(5)]
    assert answers == [200, 200, 200, 200, 429]  # the fifth failure locks the address out
    hashed = hashes[0]
    assert hashed == 5
    refused = [log_in(attacker, f"guess-{n}") for n in range(5, 25)]  # 20 more guesses: none is even checked
    assert {r.status_code for r in refused} == {429} and hashes[0] == hashed
    page = refused[-1].content.decode()
    assert 'id="login-refusal"' in page and "Try again in 15 minutes" in page and 'name="password"' in page
    assert refused[-1]["Retry-After"] == "900"
    assert "no-store" in refused[-1]["Cache-Control"]  # the lockout page, like the login page, is never cached
    right = log_in(attacker, PASSWORD)  # the right password from the locked-out address is refused too
    assert right.status_code == 429 and "_auth_user_id" not in right.client.session
    assert AccessFailureLog.objects.filter(ip_address=attacker).count() == 26
    assert AccessAttempt.objects.get(ip_address=attacker, username="operator").failures_since_start == 26
    # The operator, from another address, logs in: the attacker's failures were counted against its address.
    operator_login = log_in("198.51.100.4", PASSWORD)
    assert operator_login.status_code == 302 and operator_login["Location"] == "/admin/"


def test_an_address_trying_many_usernames_is_locked_out_too(operator):
    answers = [log_in("203.0.113.10", "guess", username=f"user{n}").status_code for n in range(6)]
    assert answers == [200, 200, 200, 200, 429, 429]
    assert log_in("203.0.113.10", PASSWORD).status_code == 429


def test_an_ipv6_address_is_counted_by_its_64(operator):
    for host in range(1, 6):
        log_in(f"2001:db8:0:7::{host}", "guess")
    assert log_in("2001:db8:0:7::99", PASSWORD).status_code == 429  # the same /64
    assert log_in("2001:db8:0:8::1", PASSWORD).status_code == 302  # another /64


def test_an_operator_can_lift_a_lockout(operator):
    for n in range(5):
        log_in("203.0.113.11", f"guess-{n}")
    assert log_in("203.0.113.11", PASSWORD).status_code == 429
    call_command("axes_reset_ip", "203.0.113.11")
    assert log_in("203.0.113.11", PASSWORD).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_logins_beyond_the_hashing_bound_are_refused_at_once_without_hashing(settings, monkeypatch):
    get_user_model().objects.create_superuser("operator", "ops@example.com", PASSWORD)
    hasher = type(get_hasher())
    encode = hasher.encode
    hashing, release = threading.Event(), threading.Event()
    calls = []

    def held(self, *args, **kwargs):
        calls.append(threading.current_thread().name)
        hashing.set()
        assert release.wait(30), "the test never released the first hash"
        return encode(self, *args, **kwargs)

    monkeypatch.setattr(hasher, "encode", held)
    first: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: first.update(answer=log_in("198.51.100.1", PASSWORD)), name="first")
    thread.start()
    try:
        assert hashing.wait(30), "the first login never reached the password hash"
        # The one hashing slot of this process is taken: logins from anywhere are refused, unhashed.
        busy = [log_in(f"198.51.100.{n}", PASSWORD if n % 2 else "guess") for n in range(2, 8)]
    finally:
        release.set()
        thread.join(30)
    assert [r.status_code for r in busy] == [503] * 6 and calls == ["first"]
    assert busy[0]["Retry-After"] == "1" and "Nothing was checked" in busy[0].content.decode()
    assert "no-store" in busy[0]["Cache-Control"]
    assert not AccessFailureLog.objects.exists()  # a busy refusal is not a failed login
    assert first["answer"].status_code == 302  # the login that had the slot went on
    assert log_in("198.51.100.9", PASSWORD).status_code == 302  # and the slot is free again
