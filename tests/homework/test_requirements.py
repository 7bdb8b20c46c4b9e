"""requirements-homework.txt installs otter-grader on top of the notebook stack without moving
any of its pins (a cheap check of the files; test_grading.py checks the installed venv)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.\-\[\]]+)==([A-Za-z0-9_.\-+]+)$")


def _norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(name):
    out, options = {}, []
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if not line:
            continue
        if line.startswith("-"):
            options.append(line)
            continue
        m = PIN.match(line)
        assert m, f"{name}: expected an exact pin NAME==VERSION, received {line!r}"
        assert _norm(m.group(1)) not in out, f"{name}: {m.group(1)} pinned twice"
        out[_norm(m.group(1))] = m.group(2)
    return out, options


def test_homework_requirements_pin_otter_and_constrain_to_the_notebook_stack():
    hw, options = pins("requirements-homework.txt")
    assert hw.get("otter-grader") == "7.0.0", f"expected otter-grader==7.0.0, received {hw.get('otter-grader')}"
    assert options == ["-c requirements.txt"], f"expected only '-c requirements.txt', received {options}"


def test_no_package_is_pinned_in_both_files():
    hw, _ = pins("requirements-homework.txt")
    base, _ = pins("requirements.txt")
    both = sorted(set(hw) & set(base))
    assert not both, f"pinned in both files (requirements.txt alone must pin them): {both}"
    assert base["playwright"] == "1.65.2", "the browser test's playwright pin moved"
