"""Hand-written SQL lives only in modules named for it: `<thing>_sql.py` and the apps' selectors.py.

Ruff's S608 (SQL built from strings) is on everywhere and ignored for those modules (pyproject.toml); this
check refuses what ruff cannot: a `noqa` that silences S608 in any other module (on a line, or the file's
`ruff: noqa`), and SQL written as a string straight into a cursor's `execute` there (which S608 does not
see when nothing is formatted into it).

    python -m lint.sql_modules [PATH ...]    (default: the current folder; exit status 1 if any)
"""

import ast
import io
import re
import sys
import tokenize
from pathlib import Path

from lint.sizes import python_files

SILENCED_S608 = re.compile(r"#.*\bnoqa\b[^#]*\bS608\b")
EXECUTE = {"execute", "executemany"}


# Outside the service: its tests and benchmarks inspect and prepare the database with SQL of their own.
OUTSIDE = {"tests", "bench"}


def may_hold_sql(path: Path) -> bool:
    return path.name == "selectors.py" or path.name.endswith("_sql.py") or bool(OUTSIDE & set(path.parts[:-1]))


def silenced(path: Path) -> list[str]:
    """Each `noqa: S608` and each `execute("<SQL>")` of a module that may not hold SQL, as file:line."""
    if may_hold_sql(path):
        return []
    source = path.read_text(encoding="utf-8")
    tokens = tokenize.generate_tokens(io.StringIO(source).readline)
    found = [
        (token.start[0], "noqa: S608")
        for token in tokens
        if token.type == tokenize.COMMENT and SILENCED_S608.search(token.string)
    ]
    calls = [node for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Call) and _executes_text(node)]
    found += [(call.lineno, "SQL passed to execute") for call in calls]
    return [
        f"{path}:{line}: SQL outside a *_sql.py or selectors.py module ({what}): move it to one" for line, what in found
    ]


def _executes_text(node: ast.Call) -> bool:
    """A call `<something>.execute(...)` whose SQL is written right there (a string, plain or formatted)."""
    if not (isinstance(node.func, ast.Attribute) and node.func.attr in EXECUTE):
        return False
    first = node.args[0] if node.args else None
    return isinstance(first, ast.JoinedStr) or (isinstance(first, ast.Constant) and isinstance(first.value, str))


def main(arguments: list[str]) -> int:
    found = [line for path in python_files([Path(a) for a in arguments] or [Path()]) for line in silenced(path)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
