"""The set-up files agree: requirements.txt is the single source of truth for the pins."""
import re
from pathlib import Path

import pytest


ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([A-Za-z0-9_.\-+]+)$")


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_pins(name="requirements.txt"):
    lines = [l.split("#")[0].strip() for l in (ROOT / name).read_text().splitlines()]
    lines = [l for l in lines if l]
    pins = {}
    for line in lines:
        m = PIN.match(line)
        assert m, f"{name}: expected an exact pin NAME==VERSION, received {line!r}"
        pins[_norm(m.group(1))] = m.group(2)
    return pins


def environment_pip_section():
    """The entries under `- pip:` in environment.yml (a list of strings)."""
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.strip() == "- pip:")
    indent = len(lines[start]) - len(lines[start].lstrip())
    entries = []
    for line in lines[start + 1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        if line.strip().startswith("- "):
            entries.append(line.strip()[2:].strip())
    return entries


def test_every_requirement_is_pinned_exactly():
    pins = requirement_pins()
    for name in ("numpy", "matplotlib", "jupyterlab", "ipywidgets", "nbval", "pytest", "playwright"):
        assert name in pins, f"requirements.txt: expected a pin for {name}, received {sorted(pins)}"


def test_environment_yml_installs_the_same_pins_and_the_package():
    entries = environment_pip_section()
    assert "-e ." in entries, f"environment.yml: expected '-e .' in the pip section, received {entries}"
    env_pins = {}
    for e in entries:
        if e == "-e .":
            continue
        m = PIN.match(e)
        assert m, f"environment.yml: expected NAME==VERSION in the pip section, received {e!r}"
        env_pins[_norm(m.group(1))] = m.group(2)
    assert env_pins == requirement_pins()


def pyproject():
    try:
        import tomllib
    except ImportError:  # Python 3.10: jupyterlab installs tomli there
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_package_depends_on_numpy_and_threadpoolctl_only():
    project = pyproject()
    names = [re.split(r"[<>=!~ \[]", d)[0] for d in project["dependencies"]]
    assert names == ["numpy", "threadpoolctl"], (
        f"pyproject: expected numpy and threadpoolctl as the only dependencies, received {names}")
    assert project["requires-python"] == ">=3.10,<3.14"


def test_extra_names_what_requirements_pin():
    """The notebooks extra lists (as ranges) every package that requirements.txt pins."""
    extra = pyproject()["optional-dependencies"]
    ranged = {_norm(re.split(r"[<>=!~ \[]", d)[0]) for d in extra["notebooks"]}
    pinned = set(requirement_pins()) - {"numpy", "threadpoolctl", "widgetsnbextension",
                                        "jupyterlab-widgets"}
    assert pinned <= ranged, f"pyproject extra 'notebooks' lacks {sorted(pinned - ranged)}"


def test_pins_satisfy_the_ranges_of_pyproject():
    """pip would refuse `-r requirements.txt -e .[notebooks]` if a pin left a range."""
    requirements = pytest.importorskip("packaging.requirements")
    project = pyproject()
    pins = requirement_pins()
    for spec in project["dependencies"] + project["optional-dependencies"]["notebooks"]:
        req = requirements.Requirement(spec)
        name = _norm(req.name)
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), (
                f"requirements.txt pins {name}=={pins[name]}, outside pyproject's {spec!r}")


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_benchmark_peers_are_pinned_and_never_package_dependencies():
    """make bench installs the peers from requirements-bench.txt; the package never needs them."""
    bench = requirement_pins("requirements-bench.txt")
    assert {"torch", "jax", "jaxlib"} <= set(bench), sorted(bench)
    assert not set(bench) & set(requirement_pins()), "a benchmark peer is pinned for the notebooks too"
    make = (ROOT / "Makefile").read_text()
    assert "-r requirements-bench.txt" in make and "benchmarks/run_all.py" in make


def test_pyproject_lists_every_subpackage():
    # setuptools installs only the packages named: a missing one imports from a checkout
    # (editable install) but not from a wheel.
    try:
        import tomllib
    except ModuleNotFoundError:
        tomllib = pytest.importorskip("tomli")
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "rnn_core").rglob("__init__.py")}
    found |= {"rnn_core.data"}                   # data files only, no __init__
    assert found == listed
