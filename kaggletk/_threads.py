"""Thread behaviour for a machine that does other things: waiting OpenMP threads yield their core.

XGBoost, LightGBM and scikit-learn run OpenMP threads that spin while they wait for work (the
OpenMP default, ``OMP_WAIT_POLICY=active``). When another process, or TensorFlow's own thread pool
in the same process, wants the cores, the spinning threads keep them busy: XGBoost's 30 rounds on
1,500 images took 57 s instead of 6 s after a Keras fit in the same process on 2 cores.
``PASSIVE`` makes waiting threads sleep. It must be set before an OpenMP runtime starts, so
kaggletk sets it when it is imported (unless the user set it); import kaggletk before XGBoost in a
notebook for it to apply.
"""

from __future__ import annotations

import os


def configure_threads() -> None:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)
