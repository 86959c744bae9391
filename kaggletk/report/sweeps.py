"""Sweep results written by ``kaggletk sweep``: ``oof/<comp>/sweeps/<name>.json``.

Format::

    {"model": str, "view": str, "param": str, "values": [...], "replicates": int, "metric": "accuracy",
     "results": [{"value": v, "seed": s, "accuracy": float, "macro_f1": float, "fit_seconds": float}, ...],
     "data": "full"|"sample", "folds_used": int}          (the last two optional)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kaggletk._io import read_json
from kaggletk.errors import KaggletkError

_REQUIRED = ("model", "param", "values", "results")


@dataclass
class Sweep:
    name: str
    path: Path
    model: str
    view: str
    param: str
    values: list[Any]
    replicates: int
    metric: str
    results: list[dict[str, Any]]
    data: str | None = None  # "full" or "sample" when the file says
    folds_used: int | None = None


def read_sweeps(folder: Path) -> tuple[list[Sweep], list[str]]:
    """Every readable sweep in ``folder`` (sorted by name), and one note per file that was skipped."""
    sweeps, notes = [], []
    if not folder.is_dir():
        return sweeps, notes
    for path in sorted(folder.glob("*.json")):
        try:
            sweeps.append(_read(path))
        except KaggletkError as exc:
            notes.append(f"{path.name}: skipped ({exc})")
    return sweeps, notes


def _read(path: Path) -> Sweep:
    data = read_json(path)
    if not isinstance(data, dict):
        raise KaggletkError("not a JSON object")
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise KaggletkError(f"missing {', '.join(missing)}")
    metric = data.get("metric", "accuracy")
    results = data["results"]
    if not isinstance(results, list) or not results:
        raise KaggletkError("no results yet")
    for i, row in enumerate(results):
        if not isinstance(row, dict) or "value" not in row or not isinstance(row.get(metric), (int, float)):
            raise KaggletkError(f"results[{i}] needs 'value' and a number '{metric}'")
    values = list(data["values"])
    values += [r["value"] for r in results if r["value"] not in values]
    values = [v for v in values if any(r["value"] == v for r in results)]
    return Sweep(path.stem, path, str(data["model"]), str(data.get("view", "-")), str(data["param"]), values,
                 int(data.get("replicates") or max(sum(r["value"] == v for r in results) for v in values)), metric, results,
                 data.get("data"), data.get("folds_used"))
