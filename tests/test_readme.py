"""The README's Python example runs as printed, and the docs point only inside the repository."""
import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_runs_and_says_what_it_prints():
    text = (ROOT / "README.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    assert len(blocks) == 1, "expected one python example in README.md"
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(blocks[0], "README.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert lines[0] == "(41, 201)"
    assert lines[1] == "[ True  True]"
    assert lines[2] == "0.9 True"
    assert lines[3] == "True True"
    assert len("\n".join(lines[4:])) == 80                 # the sample may hold line breaks


DOCS = ("README.md", "CONTRIBUTING.md", "docs/theory.md", "benchmarks/README.md")
GENERATED = ("benchmarks/results/", ".venv/")       # git-ignored, absent from a fresh clone
# A backticked repository path: one or more `dir/` parts, or a file name with an extension.
PATH = re.compile(r"`((?:[A-Za-z_.][A-Za-z0-9_.\-]*/)+[A-Za-z0-9_.\-]*|[A-Za-z0-9_\-]+\.(?:py|md|txt|toml|yml|cfg|ipynb))`")


@pytest.mark.parametrize("doc", DOCS)
def test_docs_point_only_inside_the_repository(doc):
    """A reader of the repository has nothing outside it: every path a page names exists."""
    text = (ROOT / doc).read_text()
    assert "../" not in text, f"{doc}: expected no path outside the repository, found '../'"
    missing = []
    for p in PATH.findall(text):
        if p.startswith(GENERATED):                 # made by make bench / make install
            continue
        bare = p.split("/")[-1]
        if "/" in p:
            found = (ROOT / p).exists()
        else:                                       # a bare file name: anywhere in the tree
            found = any(ROOT.glob(f"**/{bare}"))
        if not found:
            missing.append(p)
    assert not missing, f"{doc}: expected every named path to exist, missing {missing}"


def test_readme_cites_the_four_sources_by_title_and_author():
    text = (ROOT / "README.md").read_text()
    for must in ("Yue Ning", "*More on RNNs*", "*Recurrent Neural Network*, Brilliant",
                 "Giulio Galvan", "*On recurrent neural networks*", "*Recurrent Networks*", "CS224n"):
        assert must in text, f"README.md: expected the sources by title and author, missing {must!r}"
    assert not re.search(r"seed 0\d\d|seeds/", text), "README.md: cite sources by title, not file"


def test_license_is_the_one_pyproject_declares():
    text = (ROOT / "LICENSE").read_text()
    assert text.startswith("MIT License") and "the rnn_core contributors" in text
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()


# ---- the README's numbers about the repository, derived from the repository -------------
# Timing numbers are not here: the README states them with the machine and the date they
# were measured on. Every number below is one the repository itself determines.

NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve".split())}


def _readme():
    return (ROOT / "README.md").read_text()


def _test_parts():
    """TEST_PARTS as the Makefile builds it (`:=` once, then `+=`), in order."""
    parts = []
    for op, words in re.findall(r"^TEST_PARTS\s*(:=|\+=)\s*(.*)$",
                                (ROOT / "Makefile").read_text(), flags=re.M):
        parts = (parts if op == "+=" else []) + words.split()
    return parts


def _seeds_module():
    import importlib.util
    spec = importlib.util.spec_from_file_location("seeds", ROOT / "tests" / "notebooks" / "seeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ints(phrase):
    return [int(n) for n in re.findall(r"\d+", phrase)]


def test_readme_counts_the_notebooks():
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    text = _readme()
    counts = re.findall(r"\b(" + "|".join(NUMBER_WORDS) + r") notebooks\b", text)
    assert counts, "README.md: expected the number of notebooks in words ('the eight notebooks')"
    assert {NUMBER_WORDS[c] for c in counts} == {len(notebooks)}, (counts, len(notebooks))
    table = text.split("## The notebooks", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| `(\w+)` \|", table, flags=re.M) == notebooks


def test_readme_lists_the_parts_of_make_test_in_order():
    parts = _test_parts()
    assert parts[:1] == ["unit"] and len(parts) == len(set(parts)), parts
    text = _readme()
    line = next(l for l in text.splitlines() if l.startswith("- `make test-unit`"))
    listed = line.split("`: ", 1)[0] + "`"           # the list, before what it says of them
    assert re.findall(r"`make test-(\w+)`", listed) == parts, (listed, parts)
    stated = {NUMBER_WORDS[w] for w in re.findall(
        r"\b(" + "|".join(NUMBER_WORDS) + r") parts\b", text + (ROOT / "Makefile").read_text())}
    assert stated == {len(parts)}, f"README.md/Makefile state {stated} parts, TEST_PARTS has {len(parts)}"
    header = (ROOT / "Makefile").read_text().split("\n\n", 1)[0]
    assert ", ".join(parts) in header.replace("\n#               ", " "), (
        f"the Makefile's header should list the parts {parts}:\n{header}")
    ordinal = re.search(r"It is the (\w+) part of `make test`", text)
    assert ordinal and ["first", "second", "third", "fourth", "fifth", "sixth"].index(
        ordinal.group(1)) == parts.index("book"), ordinal


def test_readme_states_the_test_seeds():
    seeds = _seeds_module()
    text = _readme()
    said = re.search(r"runs every notebook at the seeds ([\d, and]+?)\s*\(", text)
    assert said and _ints(said.group(1)) == list(seeds.TEST_SEEDS), (said, seeds.TEST_SEEDS)
    notebooks = re.search(r"`make test-notebooks` at ([\d, and]+?),\s*and", text)
    assert notebooks and _ints(notebooks.group(1)) == list(seeds.NOTEBOOK_SEEDS), notebooks
    floor = set(_ints(" ".join(re.findall(r"seed (\d+) on the floor\s+stack", text))))
    assert floor == {seeds.FLOOR_SEED}, floor
    browser = set(_ints(" ".join(re.findall(r"`make test-browser` at seed (\d+) in JupyterLab", text))))
    assert browser == {seeds.BROWSER_SEED}, browser
    stored = re.search(r"one line `SEED = (\d+)`", text)
    assert stored and int(stored.group(1)) not in seeds.TEST_SEEDS


def test_readme_budgets_are_the_browser_tests():
    source = (ROOT / "tests" / "browser" / "test_explorer_browser.py").read_text()
    each = int(re.search(r"^RUN_ALL_BUDGET_S = (\d+)", source, flags=re.M).group(1))
    series = int(re.search(r"^SERIES_BUDGET_S = (\d+)", source, flags=re.M).group(1))
    said = re.search(r"at most (\d+) s per notebook and (\d+) minutes for the series", _readme())
    assert said and (int(said.group(1)), int(said.group(2)) * 60) == (each, series), said


def test_readme_versions_are_the_pins():
    def pins(name):
        return dict(re.findall(r"^([\w-]+)==(\S+)", (ROOT / name).read_text(), flags=re.M))
    text = _readme()
    floor = pins("requirements-floor.txt")
    listed = re.search(r"`requirements-floor.txt`: (numpy [^)]*?), as on", text).group(1)
    for name, version in re.findall(r"([\w-]+) (\d+\.\d+)", listed):
        assert floor[name].startswith(version + "."), (name, version, floor[name])
    assert {"numpy", "matplotlib", "ipywidgets", "ipykernel", "threadpoolctl"} <= set(
        re.findall(r"([\w-]+) \d", listed))
    book, homework = pins("requirements-book.txt"), pins("requirements-homework.txt")
    for name in ("myst-nb", "sphinx-book-theme"):
        version = re.search(rf"{name} (\d+\.\d+)", text).group(1)
        assert book[name].startswith(version + "."), (name, version, book[name])
    assert f"Sphinx {homework['sphinx']}" in text and f"Sphinx {homework['sphinx'].split('.')[0]} " in text
    assert f"markdown-it-py {'.'.join(homework['markdown-it-py'].split('.')[:2])}" in text
    assert f"otter-grader=={homework['otter-grader']}" in text
    mathjax = re.search(r'^MATHJAX_VERSION = "([\d.]+)"', (ROOT / "tools" / "book.py").read_text(),
                        flags=re.M).group(1)
    assert f"MathJax {mathjax}" in " ".join(text.split()), mathjax


def test_readme_counts_of_the_repository():
    text = _readme()
    masters = sorted((ROOT / "homework").glob("*/*.ipynb"))
    said = re.search(r"from the (\w+) masters in\s+`homework/`", text)
    assert said and NUMBER_WORDS[said.group(1)] == len(masters), (said, masters)
    import math
    import rnn_core as rc
    chars = len(rc.training.tasks.text_vocab())
    assert f"log2({chars}) = {math.log2(chars):.1f}" in text and f"corpus's {chars} characters" in text
    lm = (ROOT / "tools" / "train_lm.py").read_text()
    H = re.search(r'"--H", type=int, default=(\d+)', lm).group(1)
    steps = re.search(r'"--steps", type=int, default=(\d+)', lm).group(1)
    assert f"H = {H}, {steps} updates" in text, (H, steps)
