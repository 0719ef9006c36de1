"""Web hygiene: deploy checks, security headers, CORS off unless configured, DEBUG off by default."""

import os
import secrets
import subprocess
import sys

import pytest

from tests.processes import BASE_DIR

HTTPS_ONLY = {"security.W004", "security.W008", "security.W012", "security.W016"}  # HSTS, redirect, 2 cookies


def deploy_warnings(**env) -> set[str]:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        env={**os.environ, "DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), "HTTPS": "", **env},
    )
    return {word.strip("():") for word in (result.stdout + result.stderr).split() if word.startswith("(security.")}


def test_check_deploy_is_clean_but_for_the_https_settings():
    assert deploy_warnings() == HTTPS_ONLY
    assert deploy_warnings(HTTPS="1") == {"security.W021"}  # HSTS preload: the deployer's commitment to make


def test_debug_is_off_unless_asked_for(settings):
    assert os.environ.get("DEBUG") in (None, "", "0") and settings.DEBUG is False


@pytest.mark.django_db
def test_security_headers(client):
    response = client.get("/", HTTP_HOST="127.0.0.1")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
def test_cors_is_off_by_default_and_opens_to_listed_origins(client, settings):
    preflight = {
        "HTTP_ORIGIN": "https://app.example",
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        "HTTP_ACCESS_CONTROL_REQUEST_HEADERS": "authorization, idempotency-key",
        "HTTP_HOST": "127.0.0.1",
    }
    assert "Access-Control-Allow-Origin" not in client.options("/orders", **preflight)
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example"]
    response = client.options("/orders", **preflight)
    assert response["Access-Control-Allow-Origin"] == "https://app.example"
    assert "idempotency-key" in response["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in client.options(
        "/orders", **{**preflight, "HTTP_ORIGIN": "https://evil.example"}
    )
