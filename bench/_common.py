"""Shared by the benchmarks: the machine they ran on, and writing results as JSON plus Markdown."""

from __future__ import annotations

import json
import os
import platform
import resource
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    from kaggletk._versions import library_versions
    from kaggletk.models._device import gpu_available

    return {"cores": os.cpu_count(), "gpu": gpu_available(), "platform": platform.platform(),
            "python": platform.python_version(), "libraries": library_versions(),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def write_results(name: str, payload: dict[str, Any], table: str) -> None:
    """Write ``results/<name>.json`` and ``results/<name>.md`` (atomically) and print the table.

    Quick runs (``make bench quick=1``, names ending in ``-quick``) go to ``results/quick/``, which git
    ignores: a smoke test on the sample must not rewrite the measured figures the README cites.
    """
    from kaggletk._io import write_json, write_text

    folder = RESULTS / "quick" if name.endswith("-quick") else RESULTS
    folder.mkdir(parents=True, exist_ok=True)
    write_json(folder / f"{name}.json", {"machine": machine(), **payload})
    m = machine()
    header = (f"# {name}\n\nMachine: {m['cores']} cores, GPU: {'yes' if m['gpu'] else 'no'}, {m['platform']}, "
              f"Python {m['python']}; {', '.join(f'{k} {v}' for k, v in m['libraries'].items() if k != 'python')}. "
              f"Run {m['date']}.\n\n")
    write_text(folder / f"{name}.md", header + table + "\n")
    print(table, flush=True)


def markdown_table(headers: list[str], rows: list[list[Any]]) -> str:
    def cell(v):
        if isinstance(v, float):
            return f"{v:.4f}" if abs(v) < 10 else f"{v:.0f}"
        return "-" if v is None else str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def noisy_copies(runs, n_runs: int, seed: int = 0):
    """(n_runs, n, C) OOF and test probabilities from ``runs`` (store Runs), repeated in turn with 10% Dirichlet
    noise so that the copies differ: the inputs of the blend-cost benchmarks."""
    import numpy as np

    base, base_test = np.stack([r.oof() for r in runs]), np.stack([r.test() for r in runs])
    rng = np.random.default_rng(seed)

    def noisy(arr):
        return (0.9 * arr + 0.1 * rng.dirichlet(np.ones(arr.shape[-1]), size=arr.shape[0])).astype(np.float32)

    oof = np.stack([noisy(base[i % len(base)]) for i in range(n_runs)])
    test = np.stack([noisy(base_test[i % len(base)]) for i in range(n_runs)])
    return oof, test
