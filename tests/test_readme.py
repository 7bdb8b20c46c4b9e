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
