"""The size limits `make lint` keeps: no function over MAX_FUNCTION_LINES, no module over MAX_MODULE_LINES.

Every Python file of the project counts, tests and benchmarks too (they are read and changed as often as
the code), except migrations (generated) and what is not ours (dot folders such as .venv, node_modules,
var). A function's length runs from its `def` line to its last line, docstring and nested functions
included; a nested function is also measured on its own.

    python -m lint.sizes [PATH ...]    (default: the current folder; exit status 1 if any is too long)
"""

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 400
SKIPPED_FOLDERS = {"migrations", "node_modules", "var", "test-artifacts", "__pycache__"}


@dataclass(frozen=True)
class TooLong:
    path: Path
    line: int
    what: str  # "module" or "function NAME"
    lines: int
    limit: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what} is {self.lines} lines long (at most {self.limit})"


def python_files(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path.is_file():
            yield path
            continue
        for file in sorted(path.rglob("*.py")):
            folders = file.relative_to(path).parts[:-1]
            if not any(folder in SKIPPED_FOLDERS or folder.startswith(".") for folder in folders):
                yield file


def _functions(tree: ast.AST, prefix: str = "") -> Iterator[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Every function with its qualified name (Class.method, outer.inner)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield f"{prefix}{node.name}", node
            yield from _functions(node, f"{prefix}{node.name}.")
        elif isinstance(node, ast.ClassDef):
            yield from _functions(node, f"{prefix}{node.name}.")
        else:
            yield from _functions(node, prefix)


def check_file(path: Path) -> list[TooLong]:
    source = path.read_text(encoding="utf-8")
    found = []
    module_lines = len(source.splitlines())
    if module_lines > MAX_MODULE_LINES:
        found.append(TooLong(path, 1, "module", module_lines, MAX_MODULE_LINES))
    for name, function in _functions(ast.parse(source, filename=str(path))):
        lines = (function.end_lineno or function.lineno) - function.lineno + 1
        if lines > MAX_FUNCTION_LINES:
            found.append(TooLong(path, function.lineno, f"function {name}", lines, MAX_FUNCTION_LINES))
    return found


def check(paths: Iterable[Path]) -> list[TooLong]:
    return [too_long for path in python_files(paths) for too_long in check_file(path)]


def main(arguments: list[str]) -> int:
    found = check([Path(argument) for argument in arguments] or [Path()])
    for too_long in found:
        print(too_long)
    if found:
        print(f"{len(found)} too long: split where the parts say something of their own.", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
