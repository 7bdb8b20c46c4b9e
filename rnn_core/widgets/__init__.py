"""ipywidgets explorers for the notebooks, drivable from tests without a browser.

`base` holds what every explorer shares (see its docstring: one short path from a control
to a pixel, the static figure for pages without a kernel, closing on re-run); the topic
modules hold the explorers: `vanishing` (notebooks 03 and 04), `gates` (05), `remedies`
(07), `language` (08). The explorers of `vanishing` are also reachable here.
"""
from . import base, gates, language, remedies, vanishing
from .base import DPI, img_html
from .vanishing import (EXPLORER_ACTIVATIONS, EXPLORER_FAMILIES, ActivationExplorer, Explorer,
                        activation_explorer, explorer)
