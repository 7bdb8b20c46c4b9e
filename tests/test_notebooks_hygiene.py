"""Committed notebooks are clean: executed in order, no errors, no widget state, no paths."""
import json
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
ABSOLUTE = re.compile(r"(/work/|/tmp/|/root/|/home/|[A-Z]:\\\\Users)")
EXPECTED = ["01_rnn_forward", "02_bptt", "03_vanishing_exploding", "04_activations"]

params = pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])


def test_the_series_is_complete():
    assert [p.stem for p in NOTEBOOKS][:len(EXPECTED)] == EXPECTED


@params
def test_name_and_format(path):
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), path.name
    nb = json.loads(path.read_text())
    assert nb["nbformat"] == 4
    assert nb["metadata"].get("kernelspec", {}).get("name") == "python3"


@pytest.fixture(scope="module")
def nbformat():
    """nbformat, imported without rfc3987_syntax, which nothing here uses.

    jsonschema (imported by nbformat) imports rfc3987_syntax where it is installed (the
    pinned stack has it, through jupyter_events), and that builds a grammar at import: 4 s
    of CPU. It serves only the "iri" formats of JSON Schema drafts 7 and later; nbformat
    validates against Draft 4 without a format checker, so hiding it changes nothing checked.
    """
    with pytest.MonkeyPatch.context() as mp:
        if "jsonschema" not in sys.modules:
            mp.setitem(sys.modules, "rfc3987_syntax", None)
        return pytest.importorskip("nbformat")


@params
def test_valid_nbformat(path, nbformat):
    nbformat.validate(nbformat.read(path, as_version=nbformat.NO_CONVERT))


@params
def test_executed_in_order_with_outputs(path):
    code = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    counts = [c.get("execution_count") for c in code]
    assert counts == list(range(1, len(code) + 1)), f"{path.name}: execution counts {counts}"
    assert any(c["outputs"] for c in code), f"{path.name}: committed without outputs"


@params
def test_no_errors_warnings_or_widget_state(path):
    nb = json.loads(path.read_text())
    assert "widgets" not in nb["metadata"], f"{path.name}: saved widget state in metadata"
    for i, c in enumerate(nb["cells"]):
        if c["cell_type"] != "code":
            continue
        tags = c.get("metadata", {}).get("tags", [])
        for o in c["outputs"]:
            if o["output_type"] == "error":
                assert "raises-exception" in tags, f"{path.name} cell {i}: stored {o['ename']}"
            if o.get("name") == "stderr":
                assert "Warning" not in "".join(o["text"]), f"{path.name} cell {i}: a warning"
            assert "application/vnd.jupyter.widget-state+json" not in o.get("data", {})


@params
def test_no_absolute_paths(path):
    text = path.read_text()
    assert not ABSOLUTE.search(text), f"{path.name}: {ABSOLUTE.search(text).group(0)!r}"


@params
def test_opens_with_title_and_ends_with_exercises(path):
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).startswith("# ")
    md = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    assert re.search(r"^#+ .*Summary", md, re.M), f"{path.name}: no summary"
    assert re.search(r"^#+ .*Exercises", md, re.M), f"{path.name}: no exercises"


# Readers never see the source files' numbers: a source is cited by its name.
SOURCE_FILE_NAMES = re.compile(r"seeds?[ _]?00\d|seeds'|seed's rule|the seeds\b", re.I)


@params
def test_sources_are_cited_by_name_not_by_file_number(path):
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        text = "".join(cell["source"]) + "".join(
            "".join(o.get("text", "")) for o in cell.get("outputs", []))
        hit = SOURCE_FILE_NAMES.search(text)
        assert not hit, f"{path.name} cell {i}: {hit.group(0)!r}; cite the text by name"


# One import idiom: `import rnn_core as rc`, and every use of the package spelled out as
# rc.<room>.<module>.<name> (rc.cells.elman.forward, rc.plots.gradients.bounds_figure), so
# that a reader sees which module holds what a cell calls. No `from rnn_core... import`, no
# alias of a module, no name re-exported by a package.
def _rc_chains(tree):
    """Every maximal attribute chain rooted at the name rc: (line, ['rc', 'a', 'b', ...])."""
    import ast

    inner = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
            inner.add(id(node.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and id(node) not in inner:
            parts, n = [], node
            while isinstance(n, ast.Attribute):
                parts.append(n.attr)
                n = n.value
            if isinstance(n, ast.Name) and n.id == "rc":
                yield node.lineno, ["rc"] + parts[::-1]


def _idiom_violations(source):
    import ast
    import importlib
    import types

    import rnn_core

    tree = ast.parse(re.sub(r"^[%!]", "#", source, flags=re.M))     # IPython magics as comments
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "rnn_core":
            found.append(f"line {node.lineno}: from {node.module} import ...")
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "rnn_core" and (alias.name, alias.asname) != ("rnn_core", "rc"):
                    found.append(f"line {node.lineno}: import {alias.name} as {alias.asname}")
    for line, chain in _rc_chains(tree):
        obj, holder = rnn_core, None
        for name in chain[1:]:
            holder = obj
            if isinstance(obj, types.ModuleType) and not hasattr(obj, name) and hasattr(obj, "__path__"):
                obj = importlib.import_module(f"{obj.__name__}.{name}")
            else:
                obj = getattr(obj, name)
            if not isinstance(obj, types.ModuleType):
                break
        dotted = ".".join(chain)
        if isinstance(obj, types.ModuleType):
            if hasattr(obj, "__path__"):
                continue                      # a room or sub-package, on the way to a module
            found.append(f"line {line}: {dotted} names a module without using it (an alias?)")
        elif hasattr(holder, "__path__"):
            found.append(f"line {line}: {dotted} reads a name re-exported by the package "
                         f"{holder.__name__}; write the module it lives in")
    return found


@params
def test_one_import_idiom(path):
    problems = []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] == "code":
            problems += [f"cell {i}, {p}" for p in _idiom_violations("".join(cell["source"]))]
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
