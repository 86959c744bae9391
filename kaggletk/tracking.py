"""Experiment tracking, optional: a ``Callback`` that logs each cross-validation run to MLflow.

``kaggletk cv ... --track mlflow`` (or ``callbacks=[MlflowTracker(...)]`` in Python) logs, per run,
the run's settings as parameters, each fold's scores as it finishes (step = fold), the CV summary
and held-out test scores, each fold's training history (step = epoch or round), the manifest and the
submission file as artifacts. The store is ``$MLFLOW_TRACKING_URI`` when set, else a local
``sqlite:///oof/<comp>/mlflow.db`` (``mlflow ui --backend-store-uri sqlite:///oof/<comp>/mlflow.db``
shows it). MLflow is an extra: ``pip install 'kaggletk[mlflow]'``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from kaggletk.callbacks import Callback, RunInfo
from kaggletk.errors import KaggletkError


def _mlflow():
    try:
        import mlflow
    except ImportError as exc:
        raise KaggletkError("--track mlflow: MLflow is not installed; install the extra: pip install 'kaggletk[mlflow]'") from exc
    return mlflow


def default_tracking_uri(comp: str, ws=None) -> str:
    from kaggletk.workspace import workspace

    folder = (ws or workspace()).comp_oof_dir(comp)
    folder.mkdir(parents=True, exist_ok=True)
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{folder / 'mlflow.db'}"


class MlflowTracker(Callback):
    """Logs cross-validation runs to an MLflow tracking store (a local SQLite file, or a tracking server).

    Parameters
    ----------
    competition : str
        The experiment's name.
    tracking_uri : str, optional
        Default ``$MLFLOW_TRACKING_URI``, else ``sqlite:///oof/<competition>/mlflow.db``.
    """

    def __init__(self, competition: str, tracking_uri: str | None = None):
        self.mlflow = _mlflow()
        self.competition = competition
        self.tracking_uri = tracking_uri or default_tracking_uri(competition)
        self.run_id: str | None = None

    def on_run_begin(self, run: RunInfo) -> None:
        mlflow = self.mlflow
        mlflow.set_tracking_uri(self.tracking_uri)
        if mlflow.get_experiment_by_name(self.competition) is None and self.tracking_uri.startswith("sqlite:///"):
            # artifacts beside the local store, not in ./mlruns of whatever folder the command ran in
            artifacts = Path(self.tracking_uri[len("sqlite:///"):]).parent / "mlartifacts"
            mlflow.create_experiment(self.competition, artifact_location=artifacts.resolve().as_uri())
        mlflow.set_experiment(self.competition)
        active = mlflow.start_run(run_name=run.name)
        self.run_id = active.info.run_id
        mlflow.set_tags({"kaggletk.run": run.name, "model": run.model, "view": run.view,
                         "resumed_folds": ",".join(map(str, run.done))})

    def on_fold_end(self, fold: int, logs: dict[str, Any]) -> None:
        if self.run_id is None:
            return
        self.mlflow.log_metrics({f"fold_{k}": float(v) for k, v in logs.items() if isinstance(v, (int, float))}, step=fold)

    def on_run_end(self, run) -> None:
        if self.run_id is None:
            return
        mlflow, m = self.mlflow, run.manifest
        try:
            mlflow.log_params({"model": m.model, "view": m.view, "seed": m.seed, "data": m.data, "fold_scheme": m.fold_scheme,
                               "n_folds": m.n_folds, "fold_hash": m.fold_hash, "early_stopping": m.early_stopping,
                               **{f"param.{k}": str(v)[:500] for k, v in m.params.items()}})
            if m.cv is not None:
                mlflow.log_metrics({**{f"cv_{k}": v for k, v in m.cv.mean.items()}, **{f"cv_{k}_std": v for k, v in m.cv.std.items()},
                                    **{f"oof_{k}": v for k, v in m.cv.oof.items()}})
            if m.test is not None:
                mlflow.log_metrics({f"test_{k}": v for k, v in m.test.scores.items()})
            for fold in run.done_folds():
                for key, values in (run.history(fold) or {}).items():
                    for step, value in enumerate(values):
                        mlflow.log_metric(f"history_fold{fold}_{key}", value, step=step)
            mlflow.log_artifact(str(run.folder / "manifest.json"))
            if run.complete:
                self._log_submission(run)
        finally:
            mlflow.end_run()
            self.run_id = None

    def _log_submission(self, run) -> None:
        from kaggletk.submission import dataset_of, submission_text

        text = submission_text(dataset_of(run), run.test())
        with tempfile.TemporaryDirectory(prefix="kaggletk-mlflow-") as tmp:
            path = Path(tmp) / f"{run.name}.csv"
            path.write_text(text, encoding="utf-8")
            self.mlflow.log_artifact(str(path))
