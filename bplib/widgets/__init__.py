"""Interactive explorers for the lessons, built on ipywidgets.

Each function returns a widget whose ``update`` has already run once, so its
numbers are there before anyone touches a slider; tests set a control's
``value`` and read the displayed numbers back, with no browser.
"""

from bplib.widgets.step_size import step_size_explorer
from bplib.widgets.neuron import neuron_explorer
from bplib.widgets.softmax import softmax_explorer
from bplib.widgets.training import training_replay

__all__ = ["step_size_explorer", "neuron_explorer", "softmax_explorer",
           "training_replay"]
