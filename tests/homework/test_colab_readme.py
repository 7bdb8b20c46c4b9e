"""The homework's Colab cell names a placeholder repository until a fork sets its own: the
homework README must say so (cheap: part of the unit tests)."""
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _colab_cell():
    spec = importlib.util.spec_from_file_location("colab_cell", ROOT / "tools" / "colab_cell.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_the_homework_readme_says_the_colab_address_is_a_placeholder():
    colab = _colab_cell()
    text = (ROOT / "homework" / "README.md").read_text()
    if colab.REPOSITORY == colab.PLACEHOLDER:
        assert f"`{colab.PLACEHOLDER}`, until a fork sets" in text and "tools/colab_cell.py" in text, (
            "homework/README.md must say that the Colab cell's address is a placeholder")
