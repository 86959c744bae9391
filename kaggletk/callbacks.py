"""One observer interface for everything long: cross-validation, tuning, sweeps, blends and each model's fit.

As in Keras, a ``Callback`` has ``on_*`` hooks that do nothing by default; a caller overrides
the ones it needs (a progress bar, a log file, early stopping of its own) and passes instances in
``callbacks=[...]``. The same object receives the run's events (folds begin and end) and the
model's (one ``on_step_end`` per epoch or boosting round, with metrics under standard keys:
``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate``; validation keys are
``val_`` + the training key). Setting ``stop_training = True`` in ``on_step_end`` ends the fit.

Examples
--------
>>> from kaggletk.callbacks import Callback, CallbackList
>>> class Log(Callback):
...     def on_step_end(self, step, logs):
...         print(step, sorted(logs))
>>> CallbackList([Log()]).on_step_end(0, {"val_loss": 0.5, "loss": 0.6})
0 ['loss', 'val_loss']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

# The metric keys every model's history uses, whatever its library (Keras History, XGBoost and LightGBM
# evaluation logs): the progress bar, pruning and the report read these and nothing else.
STANDARD_KEYS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


@dataclass(frozen=True)
class RunInfo:
    """What a cross-validation run is about to do."""

    name: str
    model: str
    view: str
    n_folds: int
    todo: tuple[int, ...]  # folds this call will train
    done: tuple[int, ...]  # folds already on disk (a resumed run)
    step_unit: str = "epoch"  # what one step of the model's fit is: "epoch", "round" or "fit"


@dataclass(frozen=True)
class FoldInfo:
    """The rows of one fold: trained on, watched by early stopping, scored."""

    n_fit: int
    n_stop: int
    n_valid: int


@dataclass(frozen=True)
class TrialInfo:
    """One finished trial of a study, or one (value, seed) of a sweep."""

    number: int
    state: str  # "complete", "pruned", "fail"
    params: dict[str, Any]
    metric: str
    score: float | None  # the CV score in ``metric`` when known
    detail: str = ""  # e.g. "after 1 fold(s)" for a pruned trial
    seconds: float | None = None
    finished: int = 0  # finished trials so far, this one included


class Callback:
    """Base class of observers; every hook is optional."""

    stop_training: bool = False

    def on_note(self, message: str) -> None:
        """A one-line notice for the user (data used, runs left out, a resumed run)."""

    def on_download(self, name: str, done: int, total: int | None) -> None:
        """``done`` of ``total`` bytes of the file ``name`` have arrived (``total`` None when unknown)."""

    def on_run_begin(self, run: RunInfo) -> None:
        """A cross-validation run starts (after its settings are validated)."""

    def on_fold_begin(self, fold: int, info: FoldInfo) -> None:
        """Fold ``fold`` starts: its features are computed, then its model is fitted."""

    def on_train_begin(self, total_steps: int | None) -> None:
        """A model's fit starts; ``total_steps`` is the most epochs or rounds it can run."""

    def on_step_end(self, step: int, logs: dict[str, float]) -> None:
        """An epoch or boosting round ended (``step`` counts from 0); ``logs`` uses the standard keys."""

    def on_fold_end(self, fold: int, logs: dict[str, Any]) -> None:
        """Fold ``fold`` is trained, scored and written; ``logs`` holds its scores and seconds."""

    def on_run_end(self, run: Any) -> None:
        """The call ends; ``run`` is the stored run (complete or not)."""

    def on_trials_begin(self, total: int, done: int) -> None:
        """A study (or sweep) will hold ``total`` finished trials; ``done`` are already there."""

    def on_trial_end(self, trial: TrialInfo) -> None:
        """A tuning trial or sweep replicate ended."""


class CallbackList(Callback):
    """Dispatches every hook to several callbacks (``None`` entries are skipped)."""

    def __init__(self, callbacks: Iterable[Callback | None] = ()):
        self.callbacks = [c for c in callbacks if c is not None]

    @property
    def stop_training(self) -> bool:  # type: ignore[override]
        return any(c.stop_training for c in self.callbacks)

    @stop_training.setter
    def stop_training(self, value: bool) -> None:
        for c in self.callbacks:
            c.stop_training = value

    def __getattribute__(self, name: str):
        if name.startswith("on_"):
            callbacks = object.__getattribute__(self, "callbacks")

            def dispatch(*args, **kwargs):
                for callback in callbacks:
                    getattr(callback, name)(*args, **kwargs)

            return dispatch
        return object.__getattribute__(self, name)


@dataclass
class Recorder(Callback):
    """Keeps every event it sees: handy in notebooks and tests (``recorder.events``)."""

    events: list[tuple[str, tuple]] = field(default_factory=list)

    def __getattribute__(self, name: str):
        if name.startswith("on_"):
            events = object.__getattribute__(self, "events")
            return lambda *args: events.append((name, args))
        return object.__getattribute__(self, name)


def split_callbacks(callbacks: Iterable[Any]) -> tuple[CallbackList, list[Any]]:
    """kaggletk ``Callback`` objects (as one list) and the rest: native callbacks of a model's library."""
    ours, native = [], []
    for callback in callbacks or ():
        (ours if isinstance(callback, Callback) else native).append(callback)
    return CallbackList(ours), native
