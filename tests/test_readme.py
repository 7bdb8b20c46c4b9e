"""The README's Python example runs as printed, and prints what its comments say."""
import contextlib
import io
import re
from pathlib import Path

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
