"""Every text a traveller reads is marked for translation (make lint; docs/travellers.md, Languages).

Templates (the pages', the error pages', the emails'): read with Django's own template lexer. Text outside
{% translate %} / {% blocktranslate %} (and outside comments, <script> and <style>) must carry no words, and
neither may the attributes a browser shows or says (aria-label, title, placeholder, alt). The page's
script (static/js/booking.js) takes its words from the page-words JSON (orders/views.py _page_words): a
string literal that reads as prose is refused, unless its line says why it is no prose with `i18n-ok`.
In Python, a text marked inside an f-string (f"{_('...')}") is refused: xgettext does not look there, so
`make messages` would never offer it for translation.

`python -m lint.translations [FILE ...]` checks the files given, else all of them; exit 1 lists each text
with its file and line."""

import ast
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = [
    *sorted((ROOT / "templates" / "orders").glob("*.html")),
    *sorted((ROOT / "templates" / "emails").glob("*")),
    *(ROOT / "templates" / name for name in ("base.html", "404.html", "500.html", "503.html")),
]
SCRIPTS = [ROOT / "static" / "js" / "booking.js"]
PYTHON = sorted(
    path
    for app in ("core", "flights", "inventory", "operations", "orders", "seatbooking")
    for path in (ROOT / app).rglob("*.py")
    if "migrations" not in path.parts
)
GETTEXT = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy", "pgettext", "pgettext_lazy", "npgettext"}
SHOWN_ATTRIBUTES = ("aria-label", "title", "placeholder", "alt")
# A stand-in for what the template fills in (a variable, a tag, a translated text): no words of its own.
FILLED = "\u2063"
# A word: two letters or more. Codes and units in capitals (UTC, EUR, ID) are not words to translate.
WORD = re.compile(r"[^\W\d_]{2,}")
CODE = re.compile(r"^[A-Z]{1,3}$")
ADDRESS = re.compile(r"^[#/][\w/-]*$")  # a link's target filled into an attribute by a block: #seat-form
OPENS = {"blocktranslate": "endblocktranslate", "blocktrans": "endblocktrans", "comment": "endcomment"}


def has_words(text: str) -> bool:
    return any(not CODE.match(word) for word in WORD.findall(text.replace(FILLED, " ")))


def masked(source: str) -> tuple[str, list[int]]:
    """The template as HTML with everything the template language fills in replaced by FILLED, and the line
    each character came from."""
    out: list[str] = []
    lines: list[int] = []
    closing = None  # inside {% blocktranslate %} or {% comment %}: until this tag
    tokens = Lexer(source).tokenize()
    # A template that extends another renders only its blocks: text between them is never shown.
    child = any(t.token_type == TokenType.BLOCK and t.contents.split()[:1] == ["extends"] for t in tokens)
    depth = 0
    for token in tokens:
        if token.token_type == TokenType.BLOCK and token.contents.split()[:1] in (["block"], ["endblock"]):
            depth += 1 if token.contents.split()[0] == "block" else -1
        if child and depth == 0 and token.token_type == TokenType.TEXT:
            text = FILLED
        elif closing is not None:
            text = FILLED
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] == closing:
                closing = None
        elif token.token_type == TokenType.TEXT:
            text = token.contents
        else:
            text = FILLED
            if token.token_type == TokenType.BLOCK:
                name = token.contents.split()[0] if token.contents.split() else ""
                closing = OPENS.get(name)
        out.append(text)
        first = token.lineno or 1
        if text == FILLED:
            lines.append(first)
        else:
            lines.extend(first + text.count("\n", 0, n) for n in range(len(text)))
    return "".join(out), lines


class _Finder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []  # (offset line in the masked text, the text)
        self.raw = 0  # inside <script> or <style>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self.raw += 1
        for name, value in attrs:
            if name in SHOWN_ATTRIBUTES and value and has_words(value):
                self.found.append((self.getpos()[0], f'{name}="{value.strip()}"'))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self.raw:
            self.raw -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.replace(FILLED, " ").split())
        if not self.raw and has_words(text) and not ADDRESS.match(text):
            lead = len(data) - len(data.lstrip(FILLED + " \t\r\n"))
            self.found.append((self.getpos()[0] + data.count("\n", 0, lead), text))


def template_problems(source: str) -> list[tuple[int, str]]:
    """(line, text) of each text or shown attribute not marked for translation."""
    html, origins = masked(source)
    finder = _Finder()
    finder.feed(html)
    finder.close()
    starts = [0] + [i + 1 for i, ch in enumerate(html) if ch == "\n"]
    return [
        (origins[starts[line - 1]] if starts[line - 1] < len(origins) else line, text) for line, text in finder.found
    ]


# String literals of the script: '...', "..." and `...` (its ${...} parts left out), comments skipped.
LITERAL = re.compile(r"""//[^\n]*|/\*.*?\*/|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"|`(?:\\.|[^`\\])*`""", re.DOTALL)
# Prose: two words and a space, starting with a capital or ending as a sentence does; or any words put
# where a person reads them.
PROSE = re.compile(r"[^\W\d_]{2,}\s+[^\W\d_]{2,}")
SHOWN_IN_SCRIPT = re.compile(r"(?:textContent|innerText|ariaLabel|title|placeholder|alt)\s*[+]?=\s*$")
ALLOWED = "i18n-ok"
DIRECTIVES = {"use strict"}


def script_problems(source: str) -> list[tuple[int, str]]:
    problems = []
    lines = source.splitlines()
    for match in LITERAL.finditer(source):
        literal = match.group()
        if literal.startswith(("//", "/*")):
            continue
        text = re.sub(r"\$\{[^}]*\}", " ", literal[1:-1])
        line = source.count("\n", 0, match.start()) + 1
        if ALLOWED in lines[line - 1] or text in DIRECTIVES:
            continue
        before = source[max(0, match.start() - 40) : match.start()]
        shown = bool(SHOWN_IN_SCRIPT.search(before)) and has_words(text)
        if shown or (PROSE.search(text) and not re.search(r"[<>{}#=]|\w\.\w", text)):
            problems.append((line, literal))
    return problems


def python_problems(source: str) -> list[tuple[int, str]]:
    """Texts marked inside an f-string's braces."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.JoinedStr):
            continue
        for call in ast.walk(node):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id in GETTEXT:
                problems.append((call.lineno, f"{ast.unparse(call)} inside an f-string (xgettext cannot see it)"))
    return problems


def check(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        source = path.read_text(encoding="utf-8")
        problems = {".js": script_problems, ".py": python_problems}.get(path.suffix, template_problems)(source)
        found += [
            f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{line}: {text}" for line, text in problems
        ]
    return found


def main(argv: list[str]) -> int:
    paths = [Path(name).resolve() for name in argv] or [*TEMPLATES, *SCRIPTS, *PYTHON]
    found = check(paths)
    for problem in found:
        print(f"not marked for translation: {problem}")
    if found:
        print(
            f"{len(found)} text(s) a traveller reads are not marked for translation: {{% translate %}} in "
            "templates, page-words keys (orders/wording.py) in the script, marked outside f-strings in Python "
            "(docs/travellers.md, Languages)."
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
