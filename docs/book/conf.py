# Sphinx configuration of the web book (`make book`; tools/book.py passes this folder with -c).
# Sphinx + myst-nb + sphinx-book-theme, the stack Jupyter Book 1 wraps, pinned in
# requirements-book.txt. Every page must open offline and ask nothing of another host:
# no notebook execution, MathJax from the site itself, no widget scripts from a CDN.
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_ext import ROOT, load_pages, repository_url  # noqa: E402

project = load_pages()["title"]
author = "the rnn_core authors"
copyright = "the rnn_core authors, MIT License"

extensions = ["myst_nb", "book_ext"]
root_doc = "index"
exclude_patterns = ["_build", "**.ipynb_checkpoints"]

# The notebooks are committed executed: show their stored outputs, never run them.
nb_execution_mode = "off"
# The explorers' widget views show their text/plain: the notebooks store no widget state,
# and the widget manager myst-nb would load comes from a CDN.
nb_mime_priority_overrides = [("html", "application/vnd.jupyter.widget-view+json", None)]
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

# MathJax 3 from the npm registry, copied into _static/mathjax by tools/book.py.
mathjax_path = "mathjax/tex-chtml.js"

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["static"]
html_css_files = ["book.css"]
html_copy_source = False          # no second copy of every notebook in the site
html_show_sourcelink = False
html_last_updated_fmt = None
html_context = {"default_mode": "auto"}   # light or dark, as the reader's system asks
html_theme_options = {
    "repository_url": repository_url("").rsplit("/blob/", 1)[0],
    "use_repository_button": True,
    "use_download_button": False,
    "use_fullscreen_button": False,
    "launch_buttons": {},               # the page's own box links to Colab and Binder
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "home_page_in_toc": True,
}
