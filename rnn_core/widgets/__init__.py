"""ipywidgets explorers for the notebooks, drivable from tests without a browser.

`base` holds what every explorer shares (see its docstring: one short path from a control
to a pixel, the static figure for pages without a kernel, closing on re-run); the topic
modules hold the explorers: `vanishing` (notebooks 03 and 04), `gates` (05), `remedies`
(07), `language` (08). Each explorer is reached by one path, its module's:
rc.widgets.vanishing.explorer().
"""
from . import base, gates, language, remedies, vanishing

__all__ = ["base", "gates", "language", "remedies", "vanishing"]
