"""Give every notebook a first code cell that installs rnn_core on Google Colab, and only there.

Colab opens a notebook straight from GitHub, in a runtime that has numpy, matplotlib,
Pillow and ipywidgets but not this package. The cell this tool writes checks
`"google.colab" in sys.modules` (Colab's kernel imports it at start): on Colab it runs
`pip install --no-deps` of the package from the GitHub repository, plus the pinned
numpy/matplotlib only if Colab ever lacks them; it never names Jupyter, ipykernel or
ipywidgets, so Colab's own front end stays as it is. Anywhere else it imports nothing
beyond `sys` and prints nothing, so nbval and the run-order test see an empty cell.

The same tool writes the README's table of "Open in Colab" and Binder links (between
the markers of the section "Run without installing"), and the first code cell of every
homework master (homework/<name>/<name>.ipynb), so the repository's address lives in one
place: REPOSITORY below. The homework's cell starts otter's grader everywhere; on Colab it
first installs rnn_core and otter-grader with --no-deps (plus only those of otter's small
dependencies that Colab lacks, pinned as in requirements-homework.txt), so Colab's numpy,
pandas and ipywidgets stay as they are, and saves the notebook and its public tests as files,
since otter refuses tests kept in the notebook's metadata on Colab and reads the notebook
from disk.

Run: python tools/colab_cell.py [--check] [--execute] [notebooks/05_x.ipynb ...]
  (no paths: every notebook in notebooks/, the README table and the homework masters)
  --check    change nothing; exit 1 and name each notebook (or the README) that is not
             up to date
  --execute  re-execute each changed notebook in place (tools/execute_notebooks.py), so
             that its execution counts run 1..n again
Running it twice changes nothing the second time.
"""
import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# ---- FORKS: put your GitHub "owner/name" here, then run `python tools/colab_cell.py` ----
# (it rewrites the Colab cell of every notebook and the README's links; commit both).
REPOSITORY = "OWNER/REPOSITORY"
BRANCH = "main"
# -------------------------------------------------------------------------------------
PLACEHOLDER = "OWNER/REPOSITORY"

CELL_ID = "colab-install"      # the cell's id in every notebook: how this tool finds it again
MARKER = "# On Google Colab only:"
CHECK_TAG = "nbval-check-output"   # nbval then checks that the cell prints nothing
# What the notebooks import besides rnn_core and IPython, as (module, requirements.txt
# name). Colab has both; the cell installs a pin only if its module is missing.
COLAB_MAY_LACK = (("numpy", "numpy"), ("matplotlib", "matplotlib"), ("threadpoolctl", "threadpoolctl"))
README_BEGIN = "<!-- colab-binder-links: written by tools/colab_cell.py; edit REPOSITORY there -->"
README_END = "<!-- /colab-binder-links -->"


def pins(path=ROOT / "requirements.txt"):
    """{name: "name==version"} of the exact pins in requirements.txt."""
    out = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            out[name.strip().lower()] = f"{name.strip()}=={version.strip()}"
    return out


def package_url(repository=REPOSITORY, branch=BRANCH):
    """The pip requirement that installs rnn_core from GitHub."""
    return f"rnn_core @ git+https://github.com/{repository}@{branch}"


def cell_source(repository=REPOSITORY, branch=BRANCH):
    """The Colab cell's code: a no-op unless google.colab is imported."""
    p = pins()
    need = ", ".join(f'"{module}": "{p[name]}"' for module, name in COLAB_MAY_LACK)
    return "\n".join([
        f"{MARKER} install rnn_core from GitHub ({repository}), and numpy or",
        "# matplotlib if Colab lacks them; Colab's Jupyter and ipywidgets stay as they are.",
        "# Anywhere else this cell does nothing.",
        "import sys",
        'if "google.colab" in sys.modules:',
        "    import importlib.util, subprocess",
        f"    need = {{{need}}}",
        "    lacking = [pin for module, pin in need.items() if not importlib.util.find_spec(module)]",
        "    if lacking:",
        '        subprocess.run([sys.executable, "-m", "pip", "install", "-q", *lacking], check=True)',
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",',
        f'                    "{package_url(repository, branch)}"], check=True)',
        "    importlib.invalidate_caches()",
    ])


def first_code_cell(nb):
    """(index, cell) of the notebook's first code cell, or (None, None)."""
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            return i, cell
    return None, None


def is_colab_cell(cell):
    return cell.get("id") == CELL_ID or "".join(cell["source"]).startswith(MARKER)


def update_notebook(nb):
    """Insert or refresh the Colab cell as the first code cell of nb (a notebook as a dict,
    nbformat's or plain JSON); True if nb changed."""
    src = cell_source()
    _, first = first_code_cell(nb)
    if first is not None and is_colab_cell(first):
        tags = first.get("metadata", {}).get("tags", [])
        if ("".join(first["source"]) == src and first.get("id") == CELL_ID
                and not first["outputs"] and CHECK_TAG in tags):
            return False
        first.update(source=src, id=CELL_ID, outputs=[], execution_count=None)
        first.setdefault("metadata", {})["tags"] = sorted(set(tags) | {CHECK_TAG})
        return True
    # A Colab cell elsewhere (say, moved below the imports) goes: one such cell, first.
    nb["cells"] = [c for c in nb["cells"] if not (c["cell_type"] == "code" and is_colab_cell(c))]
    cell = {"cell_type": "code", "execution_count": None, "id": CELL_ID,
            "metadata": {"tags": [CHECK_TAG]}, "outputs": [], "source": src}
    i, _ = first_code_cell(nb)
    nb["cells"].insert(len(nb["cells"]) if i is None else i, cell)
    return True


def notebook_name(path):
    return Path(path).stem


def colab_url(path, repository=REPOSITORY, branch=BRANCH):
    return (f"https://colab.research.google.com/github/{repository}/blob/{branch}/"
            f"notebooks/{Path(path).name}")


def binder_url(path=None, repository=REPOSITORY, branch=BRANCH):
    target = "lab/tree/notebooks" + (f"/{Path(path).name}" if path else "")
    return f"https://mybinder.org/v2/gh/{repository}/{branch}?urlpath={target}"


def readme_block(notebooks):
    """The README's table of links, one row per notebook, between its markers."""
    rows = [README_BEGIN,
            "| notebook | Colab | Binder |",
            "|---|---|---|"]
    for path in notebooks:
        rows.append(f"| `{notebook_name(path)}` "
                    f"| [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                    f"({colab_url(path)}) "
                    f"| [![Launch Binder](https://mybinder.org/badge_logo.svg)]({binder_url(path)}) |")
    rows += ["", f"The whole series on Binder: [JupyterLab on notebooks/]({binder_url()}).", README_END]
    return "\n".join(rows)


def update_readme(text, notebooks):
    """README text with the link table rewritten; ValueError if its markers are missing."""
    pattern = re.compile(re.escape(README_BEGIN) + r".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise ValueError(f"README.md: expected the markers {README_BEGIN!r} ... {README_END!r} "
                         "in the section 'Run without installing', found none")
    return pattern.sub(lambda m: readme_block(notebooks), text, count=1)


# The homework's first cell (homework/README.md): what `import otter` needs besides what
# Colab has, as (module, requirements-homework.txt name); the cell installs a pin only if its
# module is missing, always with --no-deps (otter-grader 7.0.0 asks for ipywidgets >= 8,
# and Colab's front end needs its own).
HOMEWORK_MAY_LACK = (("otter", "otter-grader"), ("fica", "fica"), ("frontmatter", "python-frontmatter"),
                     ("ipylab", "ipylab"), ("dill", "dill"), ("wrapt", "wrapt"))
HOMEWORK_MARKER = "# On Google Colab only: install rnn_core and otter-grader"


def homework_cell_source(name, repository=REPOSITORY, branch=BRANCH):
    """The first code cell of homework `name`: on Colab, install and save the notebook and its
    public tests as files; everywhere, start otter's grader on <name>.ipynb."""
    p = pins(ROOT / "requirements-homework.txt")
    need = ", ".join(f'"{module}": "{p[dist]}"' for module, dist in HOMEWORK_MAY_LACK)
    return "\n".join([
        f"{HOMEWORK_MARKER} without touching Colab's numpy,",
        "# pandas or ipywidgets (--no-deps, and only what Colab lacks), then save a copy of this",
        "# notebook and its public tests in tests/, since otter reads both from files on Colab.",
        "# Elsewhere this cell only starts the grader.",
        "import sys",
        'if "google.colab" in sys.modules:',
        "    import importlib.util, json, os, subprocess",
        "    from google.colab import _message",
        f"    need = {{{need}}}",
        "    lacking = [pin for module, pin in need.items() if not importlib.util.find_spec(module)]",
        '    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", *lacking,',
        f'                    "{package_url(repository, branch)}"], check=True)',
        "    importlib.invalidate_caches()",
        '    nb = _message.blocking_request("get_ipynb", timeout_sec=60)["ipynb"]',
        f'    with open("{name}.ipynb", "w") as f:',
        "        json.dump(nb, f)",
        '    os.makedirs("tests", exist_ok=True)',
        '    for q, test in nb["metadata"]["otter"]["tests"].items():',
        '        with open(os.path.join("tests", q + ".py"), "w") as f:',
        '            f.write(f"OK_FORMAT = True\\n\\ntest = {test!r}\\n")',
        "import otter",
        f'grader = otter.Notebook("{name}.ipynb")',
    ])


def update_master(nb, name):
    """Refresh (or insert, before the first code cell) the homework cell of master `name`,
    a notebook as plain JSON; True if nb changed."""
    src = homework_cell_source(name)
    _, first = first_code_cell(nb)
    if first is not None and "".join(first["source"]).startswith(HOMEWORK_MARKER):
        if "".join(first["source"]) == src:
            return False
        first["source"] = src.splitlines(keepends=True)
        return True
    i, _ = first_code_cell(nb)
    nb["cells"].insert(len(nb["cells"]) if i is None else i,
                       {"cell_type": "code", "execution_count": None, "id": f"{name}-colab",
                        "metadata": {}, "outputs": [], "source": src.splitlines(keepends=True)})
    return True


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--execute", action="store_true")
    args = parser.parse_args(argv)
    if REPOSITORY == PLACEHOLDER:
        print(f"note: REPOSITORY in tools/colab_cell.py is still the placeholder {PLACEHOLDER!r}: "
              "the Colab cell and the links work once it names the GitHub repository",
              file=sys.stderr)
    every = sorted((ROOT / "notebooks").glob("*.ipynb"))
    paths = [p.resolve() for p in args.notebooks] or every
    stale = []
    import nbformat          # here, not at the top: tests import this module without it
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        if not update_notebook(nb):
            continue
        stale.append(path)
        if not args.check:
            nb = nbformat.from_dict(nb)
            nbformat.validate(nb)
            nbformat.write(nb, path)
            print(f"wrote the Colab cell of {path.relative_to(ROOT)}")
            if args.execute:
                sys.path.insert(0, str(ROOT / "tools"))
                from execute_notebooks import execute
                execute(path)
                print(f"executed {path.relative_to(ROOT)}")
            else:
                print("  its execution counts now skip: re-execute it (make notebooks, or --execute)")
    readme = ROOT / "README.md"
    text = readme.read_text()
    new = update_readme(text, every)
    if new != text:
        stale.append(readme)
        if not args.check:
            readme.write_text(new)
            print("wrote the README's Colab and Binder links")
    if not args.notebooks:
        for master in sorted((ROOT / "homework").glob("*/*.ipynb")):
            nb = json.loads(master.read_text(encoding="utf-8"))
            if update_master(nb, master.stem):
                stale.append(master)
                if not args.check:
                    master.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
                    print(f"wrote the Colab cell of {master.relative_to(ROOT)}")
    if args.check and stale:
        print("not up to date (run python tools/colab_cell.py):\n  "
              + "\n  ".join(str(p.relative_to(ROOT)) for p in stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
