"""Hand-written SQL lives only in modules named for it: `<thing>_sql.py` and the apps' selectors.py.

Ruff's S608 (SQL built from strings) is on everywhere and ignored for those modules (pyproject.toml); this
check refuses what ruff cannot: a `noqa` that silences S608 in any other module.

    python -m lint.sql_modules [PATH ...]    (default: the current folder; exit status 1 if any)
"""

import io
import re
import sys
import tokenize
from pathlib import Path

from lint.sizes import python_files

SILENCED_S608 = re.compile(r"#\s*noqa\b[^#]*\bS608\b")


def may_hold_sql(path: Path) -> bool:
    return path.name == "selectors.py" or path.name.endswith("_sql.py")


def silenced(path: Path) -> list[str]:
    """Each `noqa: S608` of a module that may not hold SQL, as file:line."""
    if may_hold_sql(path):
        return []
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [
        f"{path}:{token.start[0]}: SQL outside a *_sql.py or selectors.py module (noqa: S608): move it to one"
        for token in tokens
        if token.type == tokenize.COMMENT and SILENCED_S608.search(token.string)
    ]


def main(arguments: list[str]) -> int:
    found = [line for path in python_files([Path(a) for a in arguments] or [Path()]) for line in silenced(path)]
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
