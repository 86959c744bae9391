"""The typed run manifest: what made a run (or blend), how far it got, and how it scored.

A manifest is ``oof/<comp>/<run>/manifest.json``. Metric keys follow one rule everywhere: per fold
``<metric>``; over folds ``<metric>_mean`` and ``<metric>_std``; on the assembled out-of-fold
predictions ``oof_<metric>``; on held-out test labels ``<metric>`` and, for each fold model alone,
``fold_models_<metric>`` (a list) and ``fold_models_<metric>_mean``. Format 1 manifests (before
this class) read the same; their missing fields take the values those runs had.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from typing import Any

from kaggletk.errors import KaggletkError
from kaggletk.metrics import METRICS

RUN_FORMAT = 2
# Identity of a run: a rerun with other values of these is another run (refused, or --overwrite).
SETTINGS = ("kind", "model", "view", "view_params", "params", "early_stopping", "seed", "data",
            "data_fingerprint", "fold_scheme", "n_folds", "fold_seed", "fold_hash", "pseudo_labels")


def _metric_values(d: dict[str, Any], prefix: str = "", suffix: str = "") -> dict[str, float]:
    return {m: float(d[f"{prefix}{m}{suffix}"]) for m in METRICS if isinstance(d.get(f"{prefix}{m}{suffix}"), (int, float))}


@dataclass
class FoldEntry:
    """One finished fold: its held-out scores, row counts, timings and the file holding its predictions."""

    scores: dict[str, float]
    n_fit: int
    n_stop: int
    n_valid: int
    file: str
    sha256: str
    features_seconds: float = 0.0
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    best_iteration: int | None = None
    host: str | None = None  # where the fold was trained
    extra: dict[str, Any] = field(default_factory=dict)  # files beside the fold (saved models), by role

    def to_json(self) -> dict[str, Any]:
        out = {**self.scores, "features_seconds": round(self.features_seconds, 3), "fit_seconds": round(self.fit_seconds, 3),
               "predict_seconds": round(self.predict_seconds, 3), "n_fit": self.n_fit, "n_stop": self.n_stop,
               "n_valid": self.n_valid, "best_iteration": self.best_iteration, "file": self.file, "sha256": self.sha256}
        if self.host:
            out["host"] = self.host
        if self.extra:
            out["extra"] = self.extra
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> FoldEntry:
        return cls(_metric_values(d), int(d.get("n_fit", 0)), int(d.get("n_stop", 0)), int(d.get("n_valid", 0)),
                   d.get("file", ""), d.get("sha256", ""), float(d.get("features_seconds", 0.0)),
                   float(d.get("fit_seconds", 0.0)), float(d.get("predict_seconds", 0.0)), d.get("best_iteration"),
                   d.get("host"), dict(d.get("extra") or {}))


@dataclass
class CvSummary:
    """Scores over the folds (mean, std of the per-fold scores) and of the assembled OOF predictions."""

    mean: dict[str, float]
    std: dict[str, float]
    oof: dict[str, float]
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for m in self.mean:
            out[f"{m}_mean"], out[f"{m}_std"] = self.mean[m], self.std.get(m, 0.0)
        out.update({f"oof_{m}": v for m, v in self.oof.items()})
        out.update(fit_seconds=self.fit_seconds, predict_seconds=self.predict_seconds)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> CvSummary:
        return cls(_metric_values(d, suffix="_mean"), _metric_values(d, suffix="_std"), _metric_values(d, prefix="oof_"),
                   float(d.get("fit_seconds", 0.0)), float(d.get("predict_seconds", 0.0)))


@dataclass
class TestScore:
    """Scores on held-out test labels: of the submission's probabilities, and of each fold model alone."""

    scores: dict[str, float]
    fold_models: dict[str, list[float]] = field(default_factory=dict)

    def fold_models_mean(self, metric: str = "accuracy") -> float | None:
        values = self.fold_models.get(metric)
        return float(sum(values) / len(values)) if values else None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = dict(self.scores)
        for m, values in self.fold_models.items():
            out[f"fold_models_{m}"] = values
            out[f"fold_models_{m}_mean"] = self.fold_models_mean(m)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> TestScore:
        models = {m: [float(v) for v in d[f"fold_models_{m}"]] for m in METRICS if isinstance(d.get(f"fold_models_{m}"), list)}
        return cls(_metric_values(d), models)


@dataclass
class BlendInfo:
    """How a blend was made: the method kept, the one asked for, its inputs and every method's scores."""

    method: str
    requested_method: str
    runs: list[str]
    run_hashes: dict[str, str]
    details: dict[str, Any]
    methods: list[dict[str, Any]]


@dataclass
class RunManifest:
    """Everything ``manifest.json`` records about a run or blend (see the module docstring for key names)."""

    run: str
    competition: str
    kind: str  # "model" or "blend"
    model: str
    view: str
    data: str
    data_fingerprint: str
    fold_scheme: str
    n_folds: int
    fold_seed: int | None
    fold_hash: str
    view_params: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    early_stopping: str = "none"  # "inner": stopping rows from the training part; "none": the model does not stop early
    param_source: str = "default"
    seed: int = 0
    metric: str = "accuracy"  # the competition's metric when the run was made
    step_unit: str = "epoch"
    device: str | None = None
    precision: str | None = None
    pseudo_labels: dict[str, Any] | None = None  # {"run", "threshold"}: the source of each fold's pseudo-labels, if any
    status: str = "running"
    folds: dict[int, FoldEntry] = field(default_factory=dict)
    files: dict[str, dict[str, str]] = field(default_factory=dict)  # final arrays: "oof"/"test" -> {"file", "sha256"}
    cv: CvSummary | None = None
    test: TestScore | None = None
    blend: BlendInfo | None = None
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    updated: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    host: str = ""
    format: int = RUN_FORMAT

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def settings(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in SETTINGS}

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "folds":
                value = {str(k): v.to_json() for k, v in sorted(value.items())}
            elif f.name == "files":
                value = dict(value)
            elif isinstance(value, (CvSummary, TestScore)):
                value = value.to_json()
            elif isinstance(value, BlendInfo):
                value = {k: getattr(value, k) for k in ("method", "requested_method", "runs", "run_hashes", "details", "methods")}
            out[f.name] = value
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str = "manifest.json") -> RunManifest:
        if not isinstance(d, dict):
            raise KaggletkError(f"{source}: not a run manifest (a JSON object); delete the run folder and rerun it")
        try:
            if int(d.get("format", 1)) == 1:
                d = _from_format_1(d)
            known = {f.name for f in fields(cls)}
            values = {k: v for k, v in d.items() if k in known}
            values["folds"] = {int(k): FoldEntry.from_json(v) for k, v in (d.get("folds") or {}).items()}
            values["cv"] = CvSummary.from_json(d["cv"]) if d.get("cv") else None
            values["test"] = TestScore.from_json(d["test"]) if d.get("test") else None
            values["blend"] = BlendInfo(**d["blend"]) if d.get("blend") else None
            return cls(**values)
        except (KeyError, TypeError, ValueError) as exc:
            raise KaggletkError(f"{source}: unreadable run manifest ({type(exc).__name__}: {exc}); delete the run folder and "
                                "rerun it") from exc


def _from_format_1(d: dict[str, Any]) -> dict[str, Any]:
    """Format 1 (before the typed manifest): stopping defaulted to the held-out fold, blends kept their fields at the top."""
    d = dict(d)
    if "early_stopping" not in d:  # the field came in with stop 15; before it these models stopped on the held-out fold
        d["early_stopping"] = "held-out" if d.get("model") in ("mlp", "lenet5", "cnn", "resnet", "xgb", "lgbm") else "none"
    d.setdefault("kind", "model")
    files = d.get("files") or {}
    d["files"] = {k.removesuffix(".npy"): {"file": k, "sha256": v} if isinstance(v, str) else v for k, v in files.items()}
    if d.get("kind") == "blend":
        d["blend"] = {"method": d.get("method", ""), "requested_method": d.get("requested_method", d.get("method", "")),
                      "runs": d.get("runs", []), "run_hashes": d.get("run_hashes", {}), "details": d.get("details", {}),
                      "methods": d.get("methods", [])}
    return d
