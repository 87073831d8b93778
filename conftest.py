"""Shared test configuration.

nbval sanitisation, documented here because it is the only place outputs are
not compared exactly: widget views carry a random model id, so their
``application/vnd.jupyter.widget-view+json`` output is not compared (their
``text/plain`` form still is). Images are never compared by nbval.

BLAS runs on one thread in the tests and the kernels they start: the suite
runs notebooks and kernels side by side on small machines, where OpenBLAS's
threads spend more time waiting for each other than computing (one lesson 9
cell: 23 s with a thread per core under load, 2.3 s with one).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def pytest_collectstart(collector):
    if getattr(collector, "fspath", None) and collector.fspath.ext == ".ipynb":
        collector.skip_compare += ("application/vnd.jupyter.widget-view+json",)
