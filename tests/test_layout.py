"""The house's layout, read from the source with ast: imports run with the flow of the rooms,
and no module uses another module's underscore names.

The rooms, in the order of the course (rnn_core/__init__.py): a module may import its own
room and the rooms before it; exercises may import anything. An underscore means private:
`from .x import _y` and `x._y` (x a module of the package) are uses of another module's
private name.
"""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1] / "rnn_core"
ROOMS = ("validate", "session", "nn", "cells", "bptt", "gradflow", "remedies", "training", "experiments",
         "plots", "widgets")
ANYTHING = ("exercises",)            # may import from every room

def _name(path):
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _private_names(module):
    """The underscore names a module defines at its top level."""
    tree = ast.parse(MODULES[module].read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


DEFINED = {m: _private_names(m) for m in MODULES}


def _room(module):
    """The room of a module name: 'rnn_core.cells.elman' -> 'cells' (None: the package map)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _target(module, path, level, name):
    """The absolute module name of a from-import (level dots, then name or None)."""
    if level == 0:
        return name
    base = module.split(".")
    if path.name != "__init__.py":
        base = base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _scan(module, source=None):
    """(imports, private uses) of one module: lists of (line, imported module) and
    (line, 'module._name') for every use of another module's underscore name. A module held
    in a variable (mod = cells.get(name); mod._forward) is named by the modules that define
    the name, joined by '|'."""
    path = MODULES[module]
    tree = ast.parse(path.read_text() if source is None else source, filename=str(path))
    imports, private, aliases = [], [], {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _target(module, path, node.level, node.module)
            for a in node.names:
                full = f"{source}.{a.name}"
                if full in MODULES:                       # from package import module
                    aliases[a.asname or a.name] = full
                    imports.append((node.lineno, full))
                else:
                    imports.append((node.lineno, source))
                    if a.name.startswith("_") and not a.name.startswith("__") and source != module:
                        private.append((node.lineno, f"{source}.{a.name}"))
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "rnn_core":
                    imports.append((node.lineno, a.name))
                    aliases[a.asname or "rnn_core"] = a.name if a.asname else "rnn_core"
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                and not node.attr.startswith("__")):
            continue
        chain, value = [], node.value
        while isinstance(value, ast.Attribute):
            chain.append(value.attr)
            value = value.value
        if isinstance(value, ast.Name) and value.id in aliases:
            owner = ".".join([aliases[value.id]] + chain[::-1])
            if owner in MODULES and owner != module:
                private.append((node.lineno, f"{owner}.{node.attr}"))
        elif isinstance(value, ast.Name) and not chain and value.id not in ("self", "cls"):
            owners = sorted(m for m, names in DEFINED.items() if node.attr in names and m != module)
            if owners and module in MODULES and node.attr not in DEFINED.get(module, ()):
                private.append((node.lineno, "|".join(owners) + "." + node.attr))
    return [(n, m) for n, m in imports if m.split(".")[0] == "rnn_core"], private


SCANS = {m: _scan(m) for m in MODULES}


def _against_the_flow(module):
    room = _room(module)
    if room is None or room in ANYTHING:
        return []
    bad = []
    for line, target in SCANS[module][0]:
        other = _room(target)
        if other is None or other == room:
            continue
        if other in ANYTHING or ROOMS.index(other) > ROOMS.index(room):
            bad.append(f"{module}:{line} imports {target} ({room} comes before {other})")
    return bad


def test_the_rooms_are_the_package_map():
    """Every folder and top-level module of rnn_core is a room of the map (or the map)."""
    import rnn_core
    assert set(rnn_core._ROOMS) == set(ROOMS + ANYTHING)
    found = {_room(m) for m in MODULES} - {None}
    assert found <= set(ROOMS + ANYTHING), found - set(ROOMS + ANYTHING)


def test_the_scan_sees_what_it_must():
    """The checks below cannot pass by seeing nothing: every form of import and of private
    use, in a module written for the test (read as if it were nn.matrices)."""
    source = ("from ..gradflow.logspace import _renorm, LOG10_FLOOR\n"
              "from .. import cells\n"
              "import rnn_core.plots.render as render\n"
              "from . import init\n"
              "def f():\n"
              "    from ..training.many import multirun\n"
              "    mod = cells.get('rnn')\n"
              "    return (cells.elman._step, init._x, render._cache, init.gaussian, f._y,\n"
              "            mod._forward)\n")
    imports, private = _scan("rnn_core.nn.matrices", source)
    assert {t for _, t in imports} == {"rnn_core.gradflow.logspace", "rnn_core.cells",
                                       "rnn_core.plots.render", "rnn_core.nn.init",
                                       "rnn_core.training.many.multirun"}
    names = {n for _, n in private}
    dynamic = {n for n in names if "|" in n}
    assert names - dynamic == {"rnn_core.cells.elman._step", "rnn_core.gradflow.logspace._renorm",
                               "rnn_core.nn.init._x", "rnn_core.plots.render._cache"}
    (held,) = dynamic                              # mod._forward: every cell that defines it
    assert held.endswith("._forward") and "rnn_core.cells.elman" in held.split("|")
    assert len(private) == 5                       # not f._y: no module defines _y
    assert _room("rnn_core.training.many.multirun") == "training"
    assert [l for _, l in sorted(SCANS["rnn_core.gradflow.radii"][0])]


def test_every_import_runs_with_the_flow():
    """Every room imports only itself and the rooms before it (true since nn.matrices stopped
    importing gradflow; kept strict so that no branch adds an arrow against the flow)."""
    bad = [b for m in MODULES for b in _against_the_flow(m)]
    assert not bad, "\n".join(bad)


def test_no_module_uses_another_modules_underscore_names():
    bad = [f"{m}:{line} uses {name}" for m in MODULES for line, name in SCANS[m][1]]
    assert not bad, "\n".join(bad)
