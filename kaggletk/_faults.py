"""Crash points for the reliability tests: ``KAGGLETK_CRASH_AT=<point>[:<n>]`` kills the process
the n-th time (default: the first) it reaches ``<point>``.

A SIGKILL at a named point (mid-fold, between writing a fold file and its manifest entry, just
before an atomic rename, between the final arrays) proves that a rerun recovers, whatever moment
a real crash or an OOM kill picks. Unset (always, outside tests), ``crash_point`` is one
environment lookup and nothing else.
"""

from __future__ import annotations

import os
import signal

_seen: dict[str, int] = {}


def crash_point(name: str) -> None:
    wanted = os.environ.get("KAGGLETK_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _seen[name] = _seen.get(name, 0) + 1
    if _seen[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
