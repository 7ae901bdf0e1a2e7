"""pytest settings for the whole checkout.

When nbval compares ``solutions/*.ipynb`` with a fresh run (``--nbval``), the kernels
it starts must run under the settings the notebooks were built with
(``t2v_edu.course.NOTEBOOK_ENV``: CPU, the cpu preset, one thread, no smoke setting),
or their outputs cannot match. Kernels inherit this process's environment.
"""
import os

import pytest


def pytest_configure(config):
    if getattr(config.option, "nbval", False) or getattr(config.option, "nbval_lax", False):
        from t2v_edu.course import NOTEBOOK_ENV

        os.environ.update(NOTEBOOK_ENV)
        os.environ.pop("T2V_SMOKE", None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Under ``-n N --dist loadgroup``, keep each notebook's nbval cells on one worker
    (they share one kernel), while every other test, each student notebook run
    included, goes to whichever worker is free."""
    for item in items:
        if type(item).__name__ == "IPyNbCell":
            item.add_marker(pytest.mark.xdist_group(f"nbval:{item.path.name}"))
            # nbval waits only 5 s for a cell's output messages after the cell has
            # finished; on a busy 2-core machine a kernel can take longer than that.
            item.output_timeout = max(getattr(item, "output_timeout", 5), 60)
