"""The pages in two languages: lint.translations finds texts not marked for translation, and the Portuguese
message file translates every marked text (no empty or fuzzy entry left, none marked in the code but
missing from it)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

from lint.translations import python_problems, script_problems, template_problems

ROOT = Path(__file__).resolve().parent.parent
PORTUGUESE = ROOT / "locale" / "pt" / "LC_MESSAGES" / "django.po"


def test_an_unmarked_text_or_shown_attribute_in_a_template_is_found():
    source = """{% extends "base.html" %}{% load i18n %}
{% block content %}
<h1>Choose your seats</h1>
<button aria-label="Close the map">x</button>
<abbr title="Universal time">{{ zone }}</abbr>
<input placeholder="Last name">
<img src="/a.png" alt="A plane">
{% endblock %}"""
    found = template_problems(source)
    assert found == [
        (3, "Choose your seats"),
        (4, 'aria-label="Close the map"'),
        (5, 'title="Universal time"'),
        (6, 'placeholder="Last name"'),
        (7, 'alt="A plane"'),
    ]


def test_marked_texts_codes_and_what_the_template_fills_in_pass():
    source = """{% extends "base.html" %}{% load i18n %}
{% block skip_target %}#seat-form{% endblock %}
{% block content %}
<h1>{% translate "Choose your seats" %}</h1>
<button aria-label="{% translate 'Close the map' %}">{{ label }}</button>
<p>{% blocktranslate with n=count %}You hold <strong>{{ n }}</strong> seats.{% endblocktranslate %}</p>
{% comment %}Nothing here is shown.{% endcomment %}
<p>{{ total }} EUR, 12:00 UTC</p>
<script>const words = "Not a page text";</script>
{% endblock %}"""
    assert template_problems(source) == []


def test_prose_in_the_page_script_is_found_unless_its_line_allows_it():
    source = """(function () {
  "use strict";
  $("a").textContent = "Saving";
  $("b").textContent = words.states.PAYING;
  show(`Try ${n} of ${m} did not go through`);
  const selector = "#seat-map button[data-seat]";
  throw new Error("timed out"); // i18n-ok: an internal reason, never shown
})();"""
    assert [line for line, _ in script_problems(source)] == [3, 5]


def test_a_text_marked_inside_an_f_string_is_found():
    source = 'words = f"{tried} {_(\'Nothing was charged.\')}"\nfine = " ".join([tried, _("Nothing was charged.")])\n'
    assert [line for line, _ in python_problems(source)] == [1]


def test_every_portuguese_text_is_translated():
    assert PORTUGUESE.exists(), "make messages writes locale/pt/LC_MESSAGES/django.po"
    run = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(PORTUGUESE)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert re.fullmatch(r"\d+ translated messages?\.\n", run.stderr), run.stderr


def test_every_text_marked_in_the_code_is_in_the_portuguese_file(tmp_path):
    """`make messages` on a copy of the project adds nothing untranslated: no text was marked in the code
    and left out of the file. (A text marked inside an f-string is missing from both: make lint refuses it,
    lint/translations.py.)"""
    copy = tmp_path / "project"
    shutil.copytree(
        ROOT,
        copy,
        ignore=shutil.ignore_patterns(".venv", "node_modules", "var", ".git", "__pycache__", "*.png", "*.mo"),
    )
    run = subprocess.run(
        ["make", "-s", "-C", str(copy), "messages", f"VENV={Path(sys.prefix)}"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    fresh = copy / PORTUGUESE.relative_to(ROOT)
    untranslated = subprocess.run(
        ["msgattrib", "--untranslated", "--no-location", str(fresh)], capture_output=True, text=True, check=True
    ).stdout
    missing = [entry for entry in untranslated.split("\n\n") if "msgid" in entry and "Project-Id-Version" not in entry]
    assert not missing, f"marked in the code, not translated in {PORTUGUESE.relative_to(ROOT)}: {missing}"
