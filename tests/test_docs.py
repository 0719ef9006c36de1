"""The documentation stays usable: a README a newcomer reads in minutes, links that lead somewhere, and
no references to this project's own tracker (say what the product does, not which ticket asked for it).

Files are the repository's text files as git knows them (tracked, plus new files not ignored), so the
checks see what a clone would."""

import re
import subprocess
import unicodedata
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_MAX_LINES = 250

# The word "issue" (or "issues") followed by a number, with or without "#": this project's tracker. Built
# in two halves, and its examples below likewise, so that this file's own source does not match.
TRACKER_REFERENCE = re.compile(r"\bissues?" + r"\s+#?[0-9]", re.IGNORECASE)

LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, https:, mailto:, ...


@cache
def repository_files() -> tuple[Path, ...]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return tuple(sorted({ROOT / name for name in listed.split("\0") if name}))


def text_of(path: Path) -> str | None:
    """The file's text, or None for a binary file (or one deleted from the working tree)."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    if b"\0" in data[:8192]:
        return None
    return data.decode("utf-8", errors="replace")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def outside_code(text: str) -> list[tuple[int, str]]:
    """(line number, line) of the lines outside fenced code blocks."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line))
    return lines


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = unicodedata.normalize("NFC", text).strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    seen: dict[str, int] = {}
    found = set()
    for _number, line in outside_code(path.read_text()):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    broken = []
    for number, line in outside_code(path.read_text()):
        for target in LINK.findall(re.sub(r"`[^`]*`", "", line)):
            if EXTERNAL.match(target):
                continue
            where, _, anchor = target.partition("#")
            linked = (path.parent / where).resolve() if where else path
            name = f"{path.relative_to(root)}:{number}: {target}"
            if not linked.exists():
                broken.append(f"{name} (no such file)")
            elif anchor and linked.suffix == ".md" and anchor.lower() not in anchors(linked):
                broken.append(f"{name} (no such heading in {linked.relative_to(root)})")
    return broken


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines; move detail to docs/"


def test_every_relative_link_in_the_readme_and_docs_resolves():
    broken = [link for path in markdown_files() for link in broken_links(path)]
    assert not broken, "broken links:\n" + "\n".join(broken)


def test_the_link_checker_sees_a_broken_link_and_a_missing_heading(tmp_path):
    """Control: the checker is not blind."""
    (tmp_path / "other.md").write_text("# Present\n")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](other.md#present) [gone](missing.md) [no heading](other.md#absent) `[code](nowhere.md)`\n"
        "```\n[fenced](nowhere.md)\n```\n[web](https://example.com/x)\n"
    )
    found = broken_links(page, root=tmp_path)
    assert found == ["page.md:1: missing.md (no such file)", "page.md:1: other.md#absent (no such heading in other.md)"]


def test_slugs_follow_github():
    assert slug("Seat change write paths: the measured comparison") == "seat-change-write-paths-the-measured-comparison"
    assert slug("Live updates (Server-Sent Events)") == "live-updates-server-sent-events"
    assert slug("`GET /health`") == "get-health"


def test_no_file_names_this_projects_tracker_issues():
    found = []
    for path in repository_files():
        text = text_of(path)
        if text is None:
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            if TRACKER_REFERENCE.search(line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not found, (
        "name the behaviour, not the ticket (references to other projects' trackers, e.g. 'pretix #74', are "
        "fine):\n" + "\n".join(found)
    )


def test_the_tracker_pattern_matches_what_it_should():
    word = "issue"
    for text in [f"({word} 16)", f"{word.title()} 14's targets", f"{word}s 11 and 16", f"see {word} #12"]:
        assert TRACKER_REFERENCE.search(text), text
    for text in ["pretix #74", "an issue of timing", f"t{word} 3", f"{word}_16"]:
        assert not TRACKER_REFERENCE.search(text), text
