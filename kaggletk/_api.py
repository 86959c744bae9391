"""The Python API, for notebooks: a few calls that take names and return objects that display themselves.

The CLI is a thin layer over the same library calls; these functions add what a notebook wants:
keyword arguments instead of request objects, a progress bar that works in Jupyter (``tqdm.auto``)
and none when ``progress=False``, and results that render as tables and figures in a cell
(``_repr_html_``).

Examples
--------
On the bundled sample of Fashion-MNIST (``tests/test_doctests.py`` runs every example here):

>>> import kaggletk
>>> run = kaggletk.cv("fashion_mnist", "logreg", data="sample", folds=2, progress=False)
>>> run.oof.shape, run.test.shape
((3000, 10), (1000, 10))
>>> run.scores["cv"]["accuracy"] > 0.7
True
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kaggletk.callbacks import Callback, FoldInfo, RunInfo
from kaggletk.store import Run


class NotebookProgress(Callback):
    """Progress bars over folds and over a fold's epochs or rounds, with ``tqdm.auto`` (widgets in Jupyter, text elsewhere)."""

    def __init__(self):
        self._folds = self._steps = self._trials = None

    def on_run_begin(self, run: RunInfo) -> None:
        from tqdm.auto import tqdm

        self._folds = tqdm(total=run.n_folds, initial=len(run.done), desc=f"{run.name} folds", leave=True)

    def on_fold_begin(self, fold: int, info: FoldInfo) -> None:
        if self._folds is not None:
            self._folds.set_postfix_str(f"fold {fold}: fit {info.n_fit}, valid {info.n_valid}")

    def on_train_begin(self, total_steps: int | None) -> None:
        from tqdm.auto import tqdm

        if self._steps is not None:
            self._steps.close()
        self._steps = tqdm(total=total_steps, desc="  steps", leave=False)

    def on_step_end(self, step: int, logs: dict[str, float]) -> None:
        if self._steps is not None:
            self._steps.update(1)
            shown = next((f"{k} {logs[k]:.4f}" for k in ("val_accuracy", "val_loss", "accuracy", "loss") if k in logs), "")
            self._steps.set_postfix_str(shown)

    def on_fold_end(self, fold: int, logs: dict[str, Any]) -> None:
        if self._folds is not None:
            self._folds.update(1)

    def on_run_end(self, run) -> None:
        for bar in (self._steps, self._folds):
            if bar is not None:
                bar.close()
        self._folds = self._steps = None

    def on_trials_begin(self, total: int, done: int) -> None:
        from tqdm.auto import tqdm

        self._trials = tqdm(total=total, initial=done, desc="trials", leave=True)

    def on_trial_end(self, trial) -> None:
        bar = self._trials
        if bar is not None:
            bar.n = trial.finished
            best = f"trial {trial.number}: {trial.state}" + (f", CV {trial.score:.4f}" if trial.score is not None else "")
            bar.set_postfix_str(best)
            bar.refresh()
            if trial.finished >= bar.total:
                bar.close()
                self._trials = None


def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    from kaggletk.report.figures import close_figure

    close_figure(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


@dataclass
class RunResult:
    """A run or blend in the OOF store, for a notebook.

    Attributes
    ----------
    run : kaggletk.store.Run, the stored run (manifest, files)
    oof : ndarray (n_train, n_classes), out-of-fold probabilities (complete runs)
    test : ndarray (n_test, n_classes), test probabilities
    scores : dict, ``{"cv": {metric: mean over folds}, "cv_std": ..., "oof": ..., "test": ... or None}``
    history : list of dict, per fold the per-epoch or per-round record (standard keys)
    """

    run: Run

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def oof(self) -> np.ndarray:
        return self.run.oof()

    @property
    def test(self) -> np.ndarray:
        return self.run.test()

    @property
    def scores(self) -> dict[str, Any]:
        cv, test = self.run.manifest.cv, self.run.manifest.test
        return {"cv": dict(cv.mean) if cv else {}, "cv_std": dict(cv.std) if cv else {}, "oof": dict(cv.oof) if cv else {},
                "test": dict(test.scores) if test else None}

    @property
    def history(self) -> list[dict[str, list[float]]]:
        return [self.run.history(f) or {} for f in self.run.done_folds()]

    def summary(self):
        """A pandas DataFrame: one row per fold (every metric, rows, seconds), then the mean and std."""
        import pandas as pd

        m = self.run.manifest
        rows = [{"fold": f, **e.scores, "n_fit": e.n_fit, "n_stop": e.n_stop, "n_valid": e.n_valid, "fit_seconds": e.fit_seconds,
                 "host": e.host} for f, e in sorted(m.folds.items())]
        frame = pd.DataFrame(rows).set_index("fold") if rows else pd.DataFrame()
        if m.cv is not None and rows:
            frame.loc["mean"] = pd.Series(m.cv.mean)
            frame.loc["std"] = pd.Series(m.cv.std)
        return frame

    def predict_proba(self, images: np.ndarray | str | Path) -> np.ndarray:
        """Probabilities (n, n_classes) of new images (an array, a CSV or a folder of PNGs) from the saved fold models."""
        from kaggletk.inference import predict_images

        return predict_images(self.run, images)

    def predict(self, images: np.ndarray | str | Path) -> np.ndarray:
        """The predicted label values (as the competition spells them) of new images."""
        from kaggletk.data import load_dataset

        comp = load_dataset(self.run.manifest.competition, self.run.manifest.data).competition
        return comp.to_label(self.predict_proba(images).argmax(axis=1))

    def submission(self, name: str | None = None) -> Path:
        """Write ``submissions/<comp>/<name>.csv`` (default: the run's name) and return its path."""
        from kaggletk.submission import predict_run

        return predict_run(self.run.manifest.competition, self.run.name, name)

    def _repr_html_(self) -> str:
        from kaggletk.data import load_dataset
        from kaggletk.report import figures, tables

        m = self.run.manifest
        parts = [f"<h4>{m.run}: {m.model} on {m.view}, {m.n_folds} {m.fold_scheme} folds ({m.data} data)</h4>",
                 self.summary().to_html(float_format=lambda v: f"{v:.4f}")]
        if self.run.complete:
            dataset = load_dataset(m.competition, m.data)
            counts = tables.confusion_counts(dataset.y, self.oof.argmax(axis=1), dataset.competition.n_classes)
            with figures.style():
                images = [figures.confusion_figure(counts, dataset.competition.names, f"{m.run}: OOF confusion")]
                histories = {f: h for f, h in enumerate(self.history) if h}
                if histories:
                    images.append(figures.curves_figure(histories, m.step_unit or "step", f"{m.run}: training history"))
            parts += [f'<img src="data:image/png;base64,{_png(fig)}">' for fig in images]
        return "\n".join(parts)

    def __repr__(self) -> str:
        cv = self.run.manifest.cv
        shown = f", CV {cv.mean}" if cv else ""
        return f"RunResult({self.name!r}, {len(self.run.done_folds())}/{self.run.n_folds} folds{shown})"


def _callbacks(progress: bool, callbacks: Sequence[Any]) -> list[Any]:
    return [*([NotebookProgress()] if progress else []), *callbacks]


def load(competition: str, data: str = "auto"):
    """The competition's cached data (``Dataset``: images, labels, IDs, the sample submission).

    Examples
    --------
    >>> data = load("fashion_mnist", "sample")
    >>> data.train_images.shape, data.train_images.dtype.name, data.test_images.shape
    ((3000, 28, 28), 'uint8', (1000, 28, 28))
    """
    from kaggletk.data import load_dataset

    return load_dataset(competition, data)


def cv(competition: str, model: str, *, view: str | None = None, view_params: dict | None = None,
       params: str | dict | None = None, folds: int | None = None, scheme: str | None = None, fold: int | None = None,
       device: str = "auto", precision: str = "auto", data: str = "auto", name: str | None = None, seed: int = 0,
       overwrite: bool = False, save_models: bool = True, pseudo_labels: str | None = None, pseudo_threshold: float = 0.95,
       callbacks: Sequence[Any] = (), progress: bool = True) -> RunResult:
    """Cross-validate ``model`` on ``competition`` (see ``kaggletk cv --help`` for every argument).

    ``callbacks`` may hold kaggletk ``Callback`` objects and native callbacks of the model's library
    (Keras ``TensorBoard``/``CSVLogger``, XGBoost ``TrainingCallback``...): each fold's fit gets them.
    ``save_models=False`` keeps the fold models off disk (no ``predict_proba`` of new images then).
    ``pseudo_labels=RUN`` trains each fold also on the test images that RUN's model of the same fold
    predicted with at least ``pseudo_threshold`` (a second round; the CV stays out-of-fold).

    Examples
    --------
    >>> run = cv("fashion_mnist", "rf", data="sample", folds=2, params={"n_estimators": 20}, progress=False)
    >>> run.name, run.oof.shape
    ('rf-pixels-sample', (3000, 10))
    >>> list(run.summary().index)
    [0, 1, 'mean', 'std']
    >>> run.predict_proba(load("fashion_mnist", "sample").test_images[:4]).shape  # the saved fold models, on new images
    (4, 10)
    """
    from kaggletk.cv import CvRequest, run_cv

    request = CvRequest(competition, model, view=view, view_params=view_params or {}, params=params, n_folds=folds,
                        scheme=scheme, device=device, precision=precision, data=data, seed=seed, name=name,
                        save_models=save_models, pseudo_labels=pseudo_labels, pseudo_threshold=pseudo_threshold)
    result = run_cv(request, fold=fold, overwrite=overwrite, callbacks=_callbacks(progress, callbacks))
    return RunResult(result.run)


def tune(competition: str, model: str, *, trials: int = 20, folds: int | None = None, view: str | None = None,
         params: str | dict | None = None, data: str = "auto", storage: str | None = None, study: str | None = None,
         timeout: float | None = None, replicates: int = 0, device: str = "auto", progress: bool = True):
    """Tune ``model``'s parameters with Optuna on the saved folds; returns a ``TuneResult`` (best params, trials)."""
    from kaggletk.cv import CvRequest
    from kaggletk.tune import TuneOptions, run_tune

    request = CvRequest(competition, model, view=view, params=params, device=device, data=data)
    options = TuneOptions(trials=trials, n_folds_used=folds, storage=storage, study=study, timeout=timeout, replicates=replicates)
    return run_tune(request, options, callbacks=_callbacks(progress, ()))


def blend(competition: str, runs: Sequence[str] | None = None, *, method: str = "auto", name: str | None = None,
          data: str = "auto", stacker: str = "logreg") -> RunResult:
    """Blend runs (default: every complete run on the data's folds); returns the stored blend.

    Examples
    --------
    >>> _ = cv("fashion_mnist", "logreg", data="sample", folds=2, progress=False)
    >>> _ = cv("fashion_mnist", "rf", data="sample", folds=2, params={"n_estimators": 20}, progress=False)
    >>> best = blend("fashion_mnist", ["logreg-pca-sample", "rf-pixels-sample"], method="mean", data="sample")
    >>> best.oof.shape, best.scores["cv"]["accuracy"] > 0.7
    ((3000, 10), True)
    """
    from kaggletk.blend import run_blend

    return RunResult(run_blend(competition, list(runs) if runs else None, method=method, name=name, data=data,
                               stacker=stacker).run)


def predict(competition: str, run: str, images: np.ndarray | str | Path | None = None, *, name: str | None = None):
    """A run's submission file (``images`` None), or the probabilities of new images from its saved fold models.

    Examples
    --------
    >>> _ = cv("fashion_mnist", "logreg", data="sample", folds=2, progress=False)
    >>> predict("fashion_mnist", "logreg-pca-sample").name
    'logreg-pca-sample.csv'
    >>> predict("fashion_mnist", "logreg-pca-sample", load("fashion_mnist", "sample").test_images[:3]).shape
    (3, 10)
    """
    from kaggletk.store import load_run

    result = RunResult(load_run(competition, run))
    return result.submission(name) if images is None else result.predict_proba(images)


def submit(competition: str, path: str | Path, message: str, *, slug: str | None = None, dry_run: bool = False):
    """Validate a submission file and submit it to the Kaggle competition (see ``kaggletk submit --help``)."""
    from kaggletk.submission import submit as submit_file

    return submit_file(competition, Path(path), message, competition=slug, dry_run=dry_run)


def leaderboard(competition: str, data: str | None = None):
    """Every run and blend of a competition as a pandas DataFrame, best CV first in the competition's metric.

    Examples
    --------
    >>> _ = cv("fashion_mnist", "logreg", data="sample", folds=2, progress=False)
    >>> board = leaderboard("fashion_mnist")
    >>> "logreg-pca-sample" in board.index, "cv" in board.columns
    (True, True)
    """
    import pandas as pd

    from kaggletk.leaderboard import leaderboard_rows

    rows = leaderboard_rows(competition, data)
    return pd.DataFrame(rows).set_index("run") if rows else pd.DataFrame()


@dataclass
class Report:
    """A written report; shows itself inline in Jupyter."""

    result: Any

    @property
    def html(self) -> Path:
        return self.result.html

    def _repr_html_(self) -> str:
        return (f'<p>report: <a href="{self.html}">{self.html}</a> ({len(self.result.runs)} runs, '
                f'{len(self.result.figures)} figures)</p><iframe src="{self.html}" width="100%" height="600"></iframe>')


def report(competition: str, runs: Sequence[str] | None = None, *, out: str | Path | None = None, data: str = "auto") -> Report:
    """Write the HTML report and the Markdown summary of a competition's runs."""
    from kaggletk.report import build_report

    return Report(build_report(competition, list(runs) if runs else None, out, data))
