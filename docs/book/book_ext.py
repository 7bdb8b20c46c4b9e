"""The web book's Sphinx extension: what the committed notebooks do not carry themselves.

- Each notebook page opens with a box, injected at build time after the notebook's title
  cell (the notebook on disk is never edited): the learning objectives, the prerequisites,
  the estimated reading and running times, the links to the same notebook on Colab and on
  Binder, and its homework. All of it comes from docs/book/pages.yml; the links come from
  REPOSITORY and BRANCH in tools/colab_cell.py, which also write the README's links.
- Every figure's alt text is the description its notebook output carries (the text/plain
  "Figure: ..." beside the image/png), or the fallback pages.yml gives for a figure without
  one. myst-nb names each image file by the SHA-256 of its bytes, so the description is
  found again from the file name. A figure with neither fails the build.
- The explorers' widget outputs show their text/plain ("[Explorer: controls ...]"): the
  notebooks store no widget state, so there is nothing for a widget manager to draw, and
  its scripts would come from a CDN.
"""
import base64
import hashlib
import json
import math
import re
import sys
from pathlib import Path

import yaml
from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.util import logging

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import colab_cell  # noqa: E402  (tools/colab_cell.py: REPOSITORY, BRANCH and the link builders)

PAGES = Path(__file__).resolve().parent / "pages.yml"
PROSE_WPM, CODE_WPM = 200, 50   # words a minute; docs/book/pages.yml says why
FIGURE = "Figure: "
logger = logging.getLogger(__name__)


def load_pages(path=PAGES):
    """pages.yml as a dict, with each notebook page's entry also under by_notebook."""
    config = yaml.safe_load(Path(path).read_text())
    config["by_notebook"] = {p["notebook"]: p for p in config["pages"] if "notebook" in p}
    return config


def repository_url(path=""):
    """The repository's page on GitHub for a path in it (REPOSITORY, BRANCH of colab_cell)."""
    return f"https://github.com/{colab_cell.REPOSITORY}/blob/{colab_cell.BRANCH}/{path}"


def words(nb):
    """(prose words, code words) of a notebook's cells; outputs are not counted."""
    counts = {"markdown": 0, "code": 0}
    for cell in nb["cells"]:
        if cell["cell_type"] in counts:
            counts[cell["cell_type"]] += len("".join(cell["source"]).split())
    return counts["markdown"], counts["code"]


def reading_minutes(nb):
    prose, code = words(nb)
    return max(5, 5 * math.ceil((prose / PROSE_WPM + code / CODE_WPM) / 5))


def _text(value):
    return "".join(value) if isinstance(value, list) else (value or "")


def figure_alts(nb, fallbacks):
    """{sha256 of the PNG's bytes: alt text} for every image/png output of nb, and the
    fallback cell ids used. A figure's alt is its output's "Figure: ..." text/plain, else
    fallbacks[cell id]; ExtensionError when it has neither."""
    alts, used, missing = {}, set(), []
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if "image/png" not in data:
                continue
            digest = hashlib.sha256(base64.b64decode(_text(data["image/png"]))).hexdigest()
            description = _text(data.get("text/plain")).strip()
            if description.startswith(FIGURE):
                alts[digest] = description
            elif cell.get("id") in fallbacks:
                alts[digest] = " ".join(fallbacks[cell["id"]].split())
                used.add(cell["id"])
            else:
                missing.append(cell.get("id"))
    if missing:
        raise ExtensionError(
            f"figures without a description in cells {missing}: give their outputs a "
            f"text/plain '{FIGURE}...' or add an alt text under alt_fallbacks in {PAGES.name}")
    return alts, used


def _minutes(seconds):
    return "under a minute" if seconds < 60 else f"about {math.ceil(seconds / 60)} minutes"


def plan_box(name, nb, config):
    """The MyST markdown that opens a notebook page: objectives, times, links, homework."""
    page = config["by_notebook"][name]
    path = f"notebooks/{name}.ipynb"
    objectives = "\n".join(f"- {o}" for o in page["objectives"])
    prefixes = {n[:2]: n for n in config["by_notebook"]}    # "03" names notebook 03's page
    prerequisites = ", ".join(
        f"[notebook {p}]({prefixes[p]}.ipynb)" if p in prefixes else p
        for p in page["prerequisites"])
    homework = "; ".join(
        f"[`{hw}`]({repository_url(f'homework/{hw}/{hw}.ipynb')})" for hw in page["homework"])
    homework_line = (f"**Homework:** {homework} (how to build, hand out and grade it: "
                     f"[homework/README.md]({repository_url('homework/README.md')}))"
                     if homework else "**Homework:** no assignment covers this notebook.")
    return "\n".join([
        ":::{admonition} Before you start",
        ":class: tip book-plan",
        "",
        "**You will be able to:**",
        "",
        objectives,
        "",
        f"**Prerequisites:** {prerequisites}.",
        "",
        f"**Time:** reading about {reading_minutes(nb)} minutes; running every cell takes "
        f"{_minutes(page['run_seconds'])} of computing ({page['run_seconds']:g} s measured on "
        "2 cores), plus the time you spend with its explorers and exercises.",
        "",
        f"**Run it:** [open in Colab]({colab_cell.colab_url(path)}) · "
        f"[launch on Binder]({colab_cell.binder_url(path)}) · "
        f"[the notebook on GitHub]({repository_url(path)})",
        "",
        homework_line,
        ":::",
    ])


def _on_builder_inited(app):
    config = load_pages()
    app.env.book_alts = {}
    app.env.book_fallbacks_used = set()
    app.book_config = config


def _on_source_read(app, docname, source):
    name = Path(docname).name
    if not docname.startswith("notebooks/"):
        return
    config = app.book_config
    if name not in config["by_notebook"]:
        raise ExtensionError(f"{docname}: no entry in {PAGES.name}: add its objectives, "
                             "prerequisites, homework and run_seconds there")
    nb = json.loads(source[0])
    alts, used = figure_alts(nb, config.get("alt_fallbacks", {}).get(name, {}))
    app.env.book_alts.update(alts)
    app.env.book_fallbacks_used |= {(name, c) for c in used}
    # The box goes right under the title: the first markdown cell is split after its
    # "# ..." line, so the page opens with the box and the notebook's own introduction follows.
    first = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "markdown")
    title, _, rest = _text(nb["cells"][first]["source"]).partition("\n")
    if not title.startswith("# "):
        raise ExtensionError(f"{docname}: the first markdown cell does not open with a '# ' title")
    box = plan_box(name, nb, config)      # reading time from the notebook as committed
    nb["cells"][first]["source"] = title
    nb["cells"][first + 1:first + 1] = [
        {"cell_type": "markdown", "id": "book-plan", "metadata": {}, "source": box},
        {"cell_type": "markdown", "id": "book-intro", "metadata": {}, "source": rest.strip()}]
    source[0] = json.dumps(nb)


def _on_doctree_read(app, doctree):
    if not app.env.docname.startswith("notebooks/"):
        return
    for image in doctree.findall(nodes.image):
        digest = Path(image["uri"]).stem
        if digest not in app.env.book_alts:
            raise ExtensionError(f"{app.env.docname}: no alt text for the image {image['uri']}")
        image["alt"] = app.env.book_alts[digest]


def _on_build_finished(app, exception):
    if exception is not None:
        return
    for name, fallbacks in app.book_config.get("alt_fallbacks", {}).items():
        for cell_id in fallbacks:
            if (name, cell_id) not in app.env.book_fallbacks_used:
                logger.warning(f"{PAGES.name}: alt_fallbacks {name} {cell_id} is not used "
                               "(the output has its own description now, or the cell is gone)")


def landing_page(config):
    """The landing page's MyST markdown: the series, the path through it, prerequisites."""
    steps = []          # a numbered list, not a table: it reads on a phone, and a "|" in a
    notebooks = ROOT / "notebooks"      # formula cannot split a table's cell
    for page in config["pages"]:
        if "notebook" not in page:
            continue
        name = page["notebook"]
        nb = json.loads((notebooks / f"{name}.ipynb").read_text())
        title = _text(nb["cells"][0]["source"]).splitlines()[0].lstrip("# ").strip()
        steps.append(f"1. **[{title}](notebooks/{name}.ipynb)** (after: "
                     f"{', '.join(page['prerequisites'])}; reading about {reading_minutes(nb)} "
                     f"minutes, running {page['run_seconds']:g} s). {page['objectives'][0]}")
    docs = [p["doc"] for p in config["pages"] if "doc" in p]
    homework = {}
    for name, page in config["by_notebook"].items():
        for hw in page["homework"]:
            homework.setdefault(hw, []).append(name)
    return "\n".join([
        f"# {config['title']}",
        "",
        config["landing"]["intro"],
        "",
        "## Before you start",
        "",
        "The series assumes:",
        "",
        *[f"- {p}" for p in config["landing"]["prerequisites"]],
        "",
        "## The path through the series",
        "",
        "Read the notebooks in order: each builds on the ones named after \"after\". "
        "01 and 02 set up the network and its gradient; 03 and 04 measure why that gradient "
        "vanishes or explodes; 05 and 06 change the architecture, 07 the training, and 08 "
        "puts the pieces into a language model. Reading times count the words of each "
        "notebook; running times are the measured computing time of all its cells on 2 "
        "cores. Each page opens with its objectives and links to run it on Colab or Binder.",
        "",
        *steps,
        "",
        "[The theory and conventions](docs/theory.md) gives the notation, the exact "
        "statements and the cells' equations that every notebook uses. Homework follows "
        "the notebooks ([homework/README.md](" + repository_url("homework/README.md") + ")): "
        + "; ".join(f"`{hw}` after {', '.join(n[:2] for n in names)}"
                    for hw, names in homework.items()) + ".",
        "",
        "```{toctree}",
        ":maxdepth: 1",
        ":hidden:",
        "",
        *[f"notebooks/{p['notebook']}" for p in config["pages"] if "notebook" in p],
        *docs,
        "```",
        "",
    ])


def setup(app):
    app.connect("builder-inited", _on_builder_inited)
    app.connect("source-read", _on_source_read)
    app.connect("doctree-read", _on_doctree_read)
    app.connect("build-finished", _on_build_finished)
    return {"parallel_read_safe": False, "env_version": 1}
