"""`make lint`'s own checks: the size limits (lint/sizes.py: a function over 60 lines or a module over 400
fails, named by file, line and length; migrations are not measured) and SQL only in modules named for it
(lint/sql_modules.py)."""

import subprocess
import sys
from pathlib import Path

from lint import sizes, sql_modules

ROOT = Path(__file__).resolve().parent.parent


def function_of(lines: int, name: str = "long") -> str:
    """A function whose `def` to last line spans `lines` lines."""
    return f"def {name}():\n" + "    x = 1\n" * (lines - 1)


def test_a_function_over_60_lines_fails_with_its_place_and_length(tmp_path):
    (tmp_path / "ok.py").write_text(function_of(60, "fits"))
    (tmp_path / "app.py").write_text(
        "import os\n\n\nclass Service:\n    " + function_of(61, "act").replace("\n", "\n    ")
    )

    (found,) = sizes.check([tmp_path])

    assert str(found) == f"{tmp_path / 'app.py'}:5: function Service.act is 61 lines long (at most 60)"


def test_a_nested_function_counts_in_its_own_right_and_in_the_outer_one(tmp_path):
    inner = function_of(61, "inner").replace("\n", "\n    ")
    (tmp_path / "app.py").write_text(f"def outer():\n    {inner}\n")

    assert [found.what for found in sizes.check([tmp_path])] == ["function outer", "function outer.inner"]


def test_a_module_over_400_lines_fails(tmp_path):
    (tmp_path / "big.py").write_text("x = 1\n" * 401)
    (tmp_path / "fits.py").write_text("x = 1\n" * 400)

    (found,) = sizes.check([tmp_path])

    assert (found.path.name, found.line, found.what, found.lines) == ("big.py", 1, "module", 401)


def test_migrations_and_dot_folders_are_not_measured(tmp_path):
    for folder in ("orders/migrations", ".venv/lib"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "long.py").write_text(function_of(100))

    assert sizes.check([tmp_path]) == []


def test_the_command_exits_1_and_names_each_one(tmp_path):
    (tmp_path / "app.py").write_text(function_of(70))

    result = subprocess.run(
        [sys.executable, "-m", "lint.sizes", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, check=False
    )

    assert result.returncode == 1
    assert result.stdout == f"{tmp_path / 'app.py'}:1: function long is 70 lines long (at most 60)\n"


def test_silencing_s608_is_refused_outside_sql_and_selectors_modules(tmp_path):
    sql = 'def read(table):\n    return f"SELECT * FROM {table}"  # noqa: S608 - a table name only\n'
    for name in ("services.py", "holds_sql.py", "selectors.py"):
        (tmp_path / name).write_text(sql)
    (tmp_path / "views.py").write_text('HELP = "# noqa: S608 in a string is no comment"\n')

    found = [line for path in sizes.python_files([tmp_path]) for line in sql_modules.silenced(path)]

    assert found == [
        f"{tmp_path / 'services.py'}:2: SQL outside a *_sql.py or selectors.py module (noqa: S608): move it to one"
    ]


def test_sql_written_into_execute_or_silenced_for_a_whole_file_is_refused_too(tmp_path):
    (tmp_path / "health.py").write_text('def check(cursor, n):\n    cursor.execute("SELECT 1")\n')
    (tmp_path / "locks.py").write_text('def lock(cursor, n):\n    cursor.execute(f"SELECT {n}")\n')
    (tmp_path / "quiet.py").write_text("# ruff: noqa: S608\n")
    (tmp_path / "fine.py").write_text("def check(cursor, statement):\n    cursor.execute(statement)\n")
    (tmp_path / "locks_sql.py").write_text('def lock(cursor):\n    cursor.execute("SELECT 1")\n')
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_it.py").write_text('def test(cursor):\n    cursor.execute("SELECT 1")\n')

    found = sorted(line for path in sizes.python_files([tmp_path]) for line in sql_modules.silenced(path))

    where = "SQL outside a *_sql.py or selectors.py module"
    assert found == [
        f"{tmp_path / 'health.py'}:2: {where} (SQL passed to execute): move it to one",
        f"{tmp_path / 'locks.py'}:2: {where} (SQL passed to execute): move it to one",
        f"{tmp_path / 'quiet.py'}:1: {where} (noqa: S608): move it to one",
    ]
