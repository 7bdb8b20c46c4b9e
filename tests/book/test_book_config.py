"""The web book's config and pins agree with the repository (cheap: no Sphinx, no browser).

docs/book/pages.yml must name every notebook in order, give each its objectives, its
homework as homework/README.md maps it and its run time as benchmarks/README.md records
it, and give an alt text to every figure whose output carries no description;
requirements-book.txt must add the book's stack without moving a pin of the other two files.
"""
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "homework"))
from test_requirements import pins  # noqa: E402  (one parser of the requirements files)


def config():
    return yaml.safe_load((ROOT / "docs" / "book" / "pages.yml").read_text())


def notebook_pages():
    return [p for p in config()["pages"] if "notebook" in p]


def test_book_requirements_pin_the_generator_and_move_no_other_pin():
    book, options = pins("requirements-book.txt")
    assert options == ["-c requirements.txt", "-c requirements-homework.txt"], options
    for name in ("myst-nb", "myst-parser", "sphinx-book-theme", "pydata-sphinx-theme"):
        assert name in book, f"requirements-book.txt does not pin {name}"
    for other in ("requirements.txt", "requirements-homework.txt"):
        both = sorted(set(book) & set(pins(other)[0]))
        assert not both, f"pinned in requirements-book.txt and {other}: {both}"


def test_every_notebook_has_a_page_in_order():
    names = [p["notebook"] for p in notebook_pages()]
    assert names == sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    for page in notebook_pages():
        assert 2 <= len(page["objectives"]) <= 6, page["notebook"]
        for prerequisite in page["prerequisites"]:
            if re.fullmatch(r"\d\d", prerequisite):
                assert prerequisite < page["notebook"][:2], (page["notebook"], prerequisite)
    for page in config()["pages"]:
        if "doc" in page:
            assert (ROOT / f"{page['doc']}.md").is_file(), page


def test_homework_links_follow_the_homework_readme():
    """homework/README.md's table says which notebooks each assignment follows ("01, 02",
    "02-04", "05"); each of those pages, and only those, links to it."""
    follows = {}
    for m in re.finditer(r"^\| `(hw\w+)` \| ([\d,\- ]+) \|", (ROOT / "homework" / "README.md").read_text(), re.M):
        numbers = set()
        for part in m.group(2).split(","):
            a, _, b = part.strip().partition("-")
            numbers |= {f"{i:02d}" for i in range(int(a), int(b or a) + 1)}
        follows[m.group(1)] = numbers
    assert len(follows) == 4, follows
    for page in notebook_pages():
        want = sorted(hw for hw, numbers in follows.items() if page["notebook"][:2] in numbers)
        assert sorted(page["homework"]) == want, (page["notebook"], page["homework"], want)
        for hw in page["homework"]:
            assert (ROOT / "homework" / hw / f"{hw}.ipynb").is_file(), hw


def test_run_times_are_the_recorded_ones():
    """run_seconds is each notebook's run time under nbval as benchmarks/README.md records it."""
    text = (ROOT / "benchmarks" / "README.md").read_text()
    line = text.split("Notebook run times under nbval", 1)[1]
    recorded = dict(re.findall(r"(?<!to )\b(0\d) (\d+\.\d) s", line.split("\n\n", 1)[0]))
    assert len(recorded) == len(notebook_pages()), recorded
    for page in notebook_pages():
        assert page["run_seconds"] == float(recorded[page["notebook"][:2]]), page["notebook"]


def test_every_figure_has_a_description_or_a_fallback_and_no_fallback_is_stale():
    fallbacks = config().get("alt_fallbacks") or {}
    for page in notebook_pages():
        name = page["notebook"]
        nb = json.loads((ROOT / "notebooks" / f"{name}.ipynb").read_text())
        needed = set()
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                data = out.get("data", {})
                if "image/png" in data and not "".join(data.get("text/plain", "")).startswith("Figure: "):
                    needed.add(cell.get("id"))
        given = set(fallbacks.get(name, {}))
        assert needed <= given, f"{name}: figures without a description or an alt fallback: {needed - given}"
        assert given <= needed, f"{name}: alt fallbacks no figure needs any more: {given - needed}"
        for text in fallbacks.get(name, {}).values():
            assert text.startswith("Figure: ") and len(text.split()) >= 12, text
