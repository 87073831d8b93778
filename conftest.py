"""Shared test configuration.

nbval sanitisation, documented here because it is the only place outputs are
not compared exactly: widget views carry a random model id, so their
``application/vnd.jupyter.widget-view+json`` output is not compared (their
``text/plain`` form still is). Images are never compared by nbval.
"""


def pytest_collectstart(collector):
    if getattr(collector, "fspath", None) and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.jupyter.widget-view+json",)
