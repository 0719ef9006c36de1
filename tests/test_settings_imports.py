"""Every dotted path the settings and URLconf name imports on its own, whatever is imported first.

Django and DRF import these lazily, in an order that varies from process to process (system checks,
for one, run in set order). A cycle between them (a module that imports rest_framework.views while
DEFAULT_PARSER_CLASSES names a class inside it) then breaks only some processes; so each path is
imported first thing in a fresh interpreter.
"""

import os
import subprocess
import sys

import pytest
from django.conf import settings

from seatbooking import urls

PROJECT_PACKAGES = ("seatbooking.", "core.", "orders.", "flights.")


def _named_paths() -> list[str]:
    found: list[object] = [settings.CSRF_FAILURE_VIEW]
    for value in [*settings.REST_FRAMEWORK.values(), *settings.SPECTACULAR_SETTINGS.values()]:
        found += value if isinstance(value, list) else [value]
    found += [getattr(urls, f"handler{code}") for code in (400, 403, 404, 500)]
    return sorted({p for p in found if isinstance(p, str) and p.startswith(PROJECT_PACKAGES)})


def test_the_settings_name_project_paths():
    assert {"core.drf.JSONParser", "core.api_errors.csrf_failure"} <= set(_named_paths())


@pytest.mark.parametrize("path", _named_paths())
def test_a_named_path_imports_first_in_a_fresh_process(path):
    module = path.rsplit(".", 1)[0]
    code = (
        "import django; django.setup(); import importlib; "
        f"importlib.import_module({module!r}); "
        f"from django.utils.module_loading import import_string; import_string({path!r})"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "seatbooking.settings"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
