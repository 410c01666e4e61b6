"""The user documents: README.md stays a first screen (8 KB at most), the pages the docs issue
names exist, and every relative link and image in them resolves to a file, and a ``#anchor`` to
a heading of that file, as a code host renders it. No network: links to other hosts are not
followed."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README_MAX_BYTES = 8192
PAGES = [
    "engines.md",
    "web-app.md",
    "cli.md",
    "api.md",
    "outputs.md",
    "models.md",
    "operations.md",
    "scale-out.md",
    "quality.md",
    "performance.md",
    "architecture.md",
]
FENCE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)
HTML_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.I)  # http:, https:, mailto:


def documents() -> list[Path]:
    return [
        ROOT / "README.md",
        ROOT / "checkpoints" / "README.md",
        *sorted((ROOT / "docs").glob("*.md")),
        *sorted(ROOT.glob("bench/results/*.md")),
    ]


def prose(text: str) -> str:
    """The text without code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: the rendered text lower-cased, punctuation but
    hyphens and underscores dropped, each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = re.sub(r"[`*]", "", text).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set(HTML_ANCHOR.findall(text))
    for heading in HEADING.findall(text):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def broken_links(path: Path) -> list[str]:
    """Each relative link or image of ``path`` that names no file, or no heading of it."""
    broken = []
    for target in LINK.findall(prose(path.read_text(encoding="utf-8"))):
        if EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition("#")
        linked = (path.parent / file_part).resolve() if file_part else path
        if not linked.exists():
            broken.append(f"{target}: no file {linked}")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no heading #{anchor} in {linked.name}")
    return broken


def test_readme_is_a_first_screen():
    size = (ROOT / "README.md").stat().st_size
    assert size <= README_MAX_BYTES, f"README.md is {size} bytes, more than {README_MAX_BYTES}"


@pytest.mark.parametrize("page", PAGES)
def test_docs_page_exists(page):
    path = ROOT / "docs" / page
    assert path.is_file(), f"docs/{page} is missing"
    assert HEADING.search(path.read_text(encoding="utf-8")), f"docs/{page} has no heading"


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(document):
    assert broken_links(document) == []


def test_every_page_is_linked_from_the_readme():
    readme = prose((ROOT / "README.md").read_text(encoding="utf-8"))
    linked = {Path(target.partition("#")[0]).name for target in LINK.findall(readme)}
    assert [page for page in PAGES if page not in linked] == []


def test_a_broken_link_is_found(tmp_path):
    (tmp_path / "there.md").write_text("# Where it is\n\n## The `flag` (twice)\n", encoding="utf-8")
    page = tmp_path / "page.md"
    page.write_text(
        "[ok](there.md) [ok](there.md#where-it-is) [ok](there.md#the-flag-twice) [web](https://x.org/y)\n"
        "`[not a link](gone.md)`\n\n```\n[nor this](gone.md)\n```\n"
        "[missing](gone.md) ![img](img/none.png) [bad anchor](there.md#nowhere) [self](#nothing)\n",
        encoding="utf-8",
    )
    broken = broken_links(page)
    assert [entry.split(":")[0] for entry in broken] == [
        "gone.md",
        "img/none.png",
        "there.md#nowhere",
        "#nothing",
    ]
