"""Build the web book: the committed, executed notebooks, docs/theory.md and a landing page,
rendered by Sphinx + myst-nb into a static site that needs nothing from another host.

Steps: fetch MathJax's tarball from the npm registry once into the cache folder (`npm
pack`, or a plain download of the same tarball where npm is absent, as in CI's Python
image), check it against the pinned integrity and unpack it; gather
the sources into a staging folder with the repository's layout (links between them keep
working), build with Sphinx (docs/book/conf.py; the notebooks are not executed), copy
MathJax into the site, and print the build time and the site's size.

Run: python tools/book.py [--out build/book] [--cache build/book-cache] (`make book`).
Warnings fail the build. The registry is the only network this needs, and only once.
"""
import argparse
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "docs" / "book"
# The MathJax release the site ships, and the integrity the npm registry publishes for it
# (`npm view mathjax@3.2.2 dist.integrity`).
MATHJAX_VERSION = "3.2.2"
MATHJAX_INTEGRITY = ("sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/"
                     "FEsPsjKPZGJvtRZM1vO+geW0OhGw==")
# What the pages load from MathJax's es5 folder: the TeX-to-CommonHTML component, the
# extensions and fonts it loads on demand, and the menu's accessibility parts (assistive
# MathML for screen readers, the explorer and its speech rules).
MATHJAX_KEEP = ("tex-chtml.js", "input", "output/chtml.js", "output/chtml", "a11y", "sre", "ui")


def fail(message):
    print(f"make book: {message}", file=sys.stderr)
    sys.exit(1)


def fetch_mathjax(cache):
    """The path of mathjax@MATHJAX_VERSION's npm tarball in cache, fetched if absent."""
    tarball = cache / f"mathjax-{MATHJAX_VERSION}.tgz"
    if tarball.is_file():
        return tarball
    cache.mkdir(parents=True, exist_ok=True)
    spec = f"mathjax@{MATHJAX_VERSION}"
    try:
        if shutil.which("npm"):
            # npm's cache and logs stay in the build cache, not under ~.
            env = dict(os.environ, NPM_CONFIG_CACHE=str(cache / "npm"),
                       NPM_CONFIG_UPDATE_NOTIFIER="false")
            subprocess.run(["npm", "pack", "--silent", spec], cwd=cache, env=env, check=True,
                           stdout=subprocess.DEVNULL, timeout=300)
        else:
            registry = os.environ.get("NPM_CONFIG_REGISTRY", "https://registry.npmjs.org/")
            url = f"{registry.rstrip('/')}/mathjax/-/{tarball.name}"
            with urllib.request.urlopen(url, timeout=120) as r:
                data = r.read()
            tarball.with_suffix(".part").write_bytes(data)
            tarball.with_suffix(".part").rename(tarball)
    except (OSError, subprocess.SubprocessError) as e:
        fail(f"could not fetch {spec} from the npm registry ({e}): the book ships MathJax so "
             "that its pages render formulas offline; fetching it needs the registry once")
    if not tarball.is_file():
        fail(f"npm pack {spec} wrote no {tarball}")
    return tarball


def unpack_mathjax(tarball, dest):
    """Unpack the parts of MathJax the site needs into dest, after checking the tarball."""
    tarball = Path(tarball)
    digest = "sha512-" + base64.b64encode(hashlib.sha512(tarball.read_bytes()).digest()).decode()
    if digest != MATHJAX_INTEGRITY:
        fail(f"{tarball} is not mathjax@{MATHJAX_VERSION} as the npm registry publishes it "
             f"(integrity {digest}, expected {MATHJAX_INTEGRITY}): delete it and run make book")
    if dest.exists():
        shutil.rmtree(dest)
    prefix = "package/es5/"
    with tarfile.open(tarball) as tar:
        members = [m for m in tar.getmembers() if m.isfile() and m.name.startswith(prefix)
                   and m.name[len(prefix):].startswith(MATHJAX_KEEP)]
        for m in members:
            m.name = m.name[len(prefix):]
        tar.extractall(dest, members=members, filter="data")
        license_ = tar.extractfile("package/LICENSE").read()
    (dest / "LICENSE").write_bytes(license_)
    if not (dest / "tex-chtml.js").is_file():
        fail(f"{tarball} holds no es5/tex-chtml.js")


def stage(src):
    """The sources in the repository's layout under src: index.md, notebooks/, docs/theory.md."""
    sys.path.insert(0, str(BOOK))
    from book_ext import landing_page, load_pages
    if src.exists():
        shutil.rmtree(src)
    (src / "notebooks").mkdir(parents=True)
    (src / "docs").mkdir()
    config = load_pages()
    for page in config["pages"]:
        if "notebook" in page:
            name = f"notebooks/{page['notebook']}.ipynb"
        else:
            name = f"{page['doc']}.md"
        if not (ROOT / name).is_file():
            fail(f"docs/book/pages.yml names {name}, which does not exist")
        shutil.copyfile(ROOT / name, src / name)
    listed = {f"{p['notebook']}.ipynb" for p in config["pages"] if "notebook" in p}
    unlisted = sorted(p.name for p in (ROOT / "notebooks").glob("*.ipynb") if p.name not in listed)
    if unlisted:
        fail(f"notebooks missing from docs/book/pages.yml: {unlisted}")
    (src / "index.md").write_text(landing_page(config))


def size_mb(folder):
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(ROOT / "build" / "book"))
    ap.add_argument("--cache", default=str(ROOT / "build" / "book-cache"),
                    help="where the MathJax tarball is kept between builds")
    args = ap.parse_args(argv)
    out = Path(args.out).resolve()
    work = out.parent / (out.name + "-work")    # staging sources, doctrees, unpacked MathJax
    t0 = time.monotonic()
    unpack_mathjax(fetch_mathjax(Path(args.cache).resolve()), work / "mathjax")
    stage(work / "src")
    if out.exists():
        shutil.rmtree(out)
    from sphinx.cmd.build import build_main
    rc = build_main(["-b", "html", "-E", "-W", "--keep-going", "-q", "-c", str(BOOK),
                     "-d", str(work / "doctrees"), str(work / "src"), str(out)])
    if rc:
        fail(f"sphinx-build failed (exit {rc}); see the messages above")
    shutil.copytree(work / "mathjax", out / "_static" / "mathjax")
    pages = [p for p in out.rglob("*.html") if "_static" not in p.relative_to(out).parts]
    print(f"make book: {len(pages)} pages in {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}, "
          f"{size_mb(out):.1f} MiB (MathJax {size_mb(out / '_static' / 'mathjax'):.1f} MiB), "
          f"built in {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
