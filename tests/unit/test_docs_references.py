"""The repository explains itself: every section reference resolves to a heading in our own docs.

References take three forms: ``docs/package.md`` + section, ``docs/decisions.md`` + number and
``docs/conventions.md`` + number, each followed by more sections in a list (``, ``), a range (``-``, an
en dash, ``to``) or ``and``/``or``, all of which inherit the document named first. A section sign with no
document before it means ``docs/package.md`` — the convention ``docs/architecture.md``, ``SECURITY.md``
and the README declare — except inside ``docs/decisions.md`` and ``docs/conventions.md``, where it means
a section of that page. A heading defines a section when it starts with the section sign and number
(``## §1 …``, ``### §1.5 …``).

No scanned file may name a document outside the repository: the reference material the code was built
from is cited only through the three documents above.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCANNED = (
    "daemon",
    "tests",
    "docs",
    "bench",
    "deploy",
    "config",
    "README.md",
    "SECURITY.md",
    "CHANGELOG.md",
)

DOCS = {name: f"docs/{name}.md" for name in ("package", "decisions", "conventions")}

_SECTION = r"§(\d+[a-z]?(?:\.\d+)*)"
_ITEM = re.compile(_SECTION)
_PREFIX = re.compile(r"docs/(package|decisions|conventions)\.md\s*$")
_JOIN = re.compile(r"\s*(?:,|-|\u2013|\band\b|\bor\b|\bto\b)\s*")
_HEADING = re.compile(r"^#{1,6}[ \t]+" + _SECTION + r"(?![\w.])", re.MULTILINE)

# Names of documents that live outside the repository (built up so this file does not contain them).
FORBIDDEN = {
    "the outside domain reference": re.compile("domain" + r"\.md", re.IGNORECASE),
    "the outside domain reference by short name": re.compile(r"\bdomain\s+§", re.IGNORECASE),
    "the outside coding-style document": re.compile("house" + r"[ -]style", re.IGNORECASE),
    "decisions cited without their document": re.compile(r"(?<![/\w])Decisions\s+§"),
    "the shared folder outside the repository": re.compile(r"\.\./" + "shared"),
}


@dataclass(frozen=True, slots=True)
class Reference:
    path: str
    line: int
    doc: str  # "package" | "decisions" | "conventions"
    section: str  # "2.3", "6a", "14"

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {DOCS[self.doc]} §{self.section}"


def home_document(path: str) -> str:
    """The document a bare section sign in ``path`` refers to."""
    for name in ("decisions", "conventions"):
        if path == DOCS[name]:
            return name
    return "package"


def references(text: str, *, path: str) -> list[Reference]:
    """Every section reference in ``text``, with the document it points at."""
    found: list[Reference] = []
    group_doc: str | None = None
    previous_end = -1
    for match in _ITEM.finditer(text):
        between = text[previous_end : match.start()] if previous_end >= 0 else None
        if between is None or not _JOIN.fullmatch(between):
            prefix = _PREFIX.search(text, max(0, match.start() - 40), match.start())
            group_doc = prefix.group(1) if prefix else home_document(path)
        assert group_doc is not None
        line = text.count("\n", 0, match.start()) + 1
        found.append(Reference(path, line, group_doc, match.group(1)))
        previous_end = match.end()
    return found


def headings(text: str) -> set[str]:
    """Section numbers defined by the headings of a document."""
    return {m.group(1) for m in _HEADING.finditer(text)}


def scanned_files() -> Iterator[tuple[str, str]]:
    """``(path relative to the repository, text)`` of every text file in the scanned places."""
    for name in SCANNED:
        top = ROOT / name
        assert top.exists(), f"{name} is missing from the repository"
        files = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        for file in files:
            if "__pycache__" in file.parts or file.suffix in {".pyc", ".sqlite3", ".db"}:
                continue
            try:
                text = file.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            yield file.relative_to(ROOT).as_posix(), text


def dangling(refs: list[Reference], sections: dict[str, set[str]]) -> list[str]:
    return [str(ref) for ref in refs if ref.section not in sections[ref.doc]]


@pytest.fixture(scope="module")
def sections() -> dict[str, set[str]]:
    return {
        name: headings((ROOT / path).read_text(encoding="utf-8")) for name, path in DOCS.items()
    }


@pytest.fixture(scope="module")
def tree() -> list[tuple[str, str]]:
    # This file's own examples include deliberately dangling references.
    here = Path(__file__).resolve().relative_to(ROOT).as_posix()
    return [(path, text) for path, text in scanned_files() if path != here]


def test_a_reference_takes_its_document_from_the_start_of_its_list() -> None:
    text = (
        "see docs/decisions.md §1, §9 and §2 but §2.2-§2.5 or §4 to §6a;\n"
        "docs/conventions.md\n§14 (and docs/package.md §1.4, §2.3 to §2.5, §3 (entry), §4)"
    )
    got = [(r.doc, r.section, r.line) for r in references(text, path="daemon/x.py")]
    assert got == [
        ("decisions", "1", 1),
        ("decisions", "9", 1),
        ("decisions", "2", 1),
        ("package", "2.2", 1),
        ("package", "2.5", 1),
        ("package", "4", 1),
        ("package", "6a", 1),
        ("conventions", "14", 3),
        ("package", "1.4", 3),
        ("package", "2.3", 3),
        ("package", "2.5", 3),
        ("package", "3", 3),
        ("package", "4", 3),
    ]


def test_a_bare_reference_in_the_decisions_or_conventions_page_means_that_page() -> None:
    assert [r.doc for r in references("§3", path="docs/decisions.md")] == ["decisions"]
    assert [r.doc for r in references("§3", path="docs/conventions.md")] == ["conventions"]
    assert [r.doc for r in references("§3", path="SECURITY.md")] == ["package"]


def test_a_reference_to_a_missing_section_is_reported() -> None:
    sections = {"package": {"1", "2.3"}, "decisions": {"1"}, "conventions": set()}
    refs = references("docs/package.md §2.3, §2.4; docs/decisions.md §1 and §15", path="README.md")
    assert dangling(refs, sections) == [
        "README.md:1: docs/package.md §2.4",
        "README.md:1: docs/decisions.md §15",
    ]


def test_headings_define_sections_by_their_number_only() -> None:
    text = "# Title\n## §1 One\n### §1.5 Check order\n## §6a Storage\ntext §7\n#### §10.12 Item\n"
    assert headings(text) == {"1", "1.5", "6a", "10.12"}


def test_the_package_page_keeps_the_section_numbering_references_rely_on(
    sections: dict[str, set[str]],
) -> None:
    required = {"0", "1", "2", "3", "4", "5", "6", "6a", "7", "8", "9", "10", "11"}
    required |= {f"1.{i}" for i in range(1, 7)} | {f"2.{i}" for i in range(1, 8)}
    required |= {"5.1", "5.2"} | {f"10.{i}" for i in range(1, 15)}
    assert required <= sections["package"], sorted(required - sections["package"])


def test_the_decisions_and_conventions_pages_are_numbered_without_gaps(
    sections: dict[str, set[str]],
) -> None:
    # §1 to §14 keep the numbers the decisions were first made under; later ones are appended
    numbers = sorted(int(n) for n in sections["decisions"])
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 15
    assert sections["conventions"] == {str(n) for n in range(1, 18)}


def test_every_section_reference_in_the_repository_names_an_existing_heading(
    sections: dict[str, set[str]], tree: list[tuple[str, str]]
) -> None:
    refs = [ref for path, text in tree for ref in references(text, path=path)]
    # The tree cites the documents hundreds of times; a scan that finds few has lost its way.
    assert len(refs) > 200
    assert {ref.doc for ref in refs} == set(DOCS)
    assert dangling(refs, sections) == []


def test_no_file_refers_to_a_document_outside_the_repository(tree: list[tuple[str, str]]) -> None:
    offences = [
        f"{path}:{text.count(chr(10), 0, match.start()) + 1}: {what} ({match.group(0)!r})"
        for path, text in tree
        for what, pattern in FORBIDDEN.items()
        for match in pattern.finditer(text)
    ]
    assert offences == []
