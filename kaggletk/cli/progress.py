"""Rich progress for CV runs: a bar over folds, a bar over epochs or rounds, the running score.

It is one ``Callback``: it reads the run's events and the standard metric keys of every model's
steps, so a new model shows its progress here without this file knowing it.
"""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kaggletk.callbacks import Callback, FoldInfo, RunInfo
from kaggletk.cli._common import err, note

# What the step bar shows, the first key a model's step logs have (all standard keys).
_SHOWN = ("val_accuracy", "val_loss", "accuracy", "loss")
_UNITS = {"epoch": "epochs", "round": "rounds", "fit": "fit"}


class RichProgress(Callback):
    """Draws progress on stderr and prints one line per finished fold."""

    def __init__(self, label: str):
        self.label = label
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"), console=err, transient=True,
        )
        self.fold_task = self.progress.add_task(f"{label} folds", total=None, status="")
        self.step_task = self.progress.add_task("  steps", total=None, status="")
        self._started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._started:  # started on the first fold, so errors before training print no empty bar
            self.progress.stop()

    def on_note(self, message: str) -> None:
        note(message)

    def on_run_begin(self, run: RunInfo) -> None:
        if run.done:
            done = ", ".join(map(str, run.done))
            note(f"{run.name}: {'fold ' + done + ' is' if len(run.done) == 1 else 'folds ' + done + ' are'} already done; training "
                 f"{', '.join(map(str, run.todo)) or 'none'}")
        self.progress.update(self.fold_task, total=run.n_folds, completed=len(run.done))
        self.progress.update(self.step_task, description=f"  {_UNITS.get(run.step_unit, run.step_unit)}")

    def on_fold_begin(self, fold: int, info: FoldInfo) -> None:
        if not self._started:
            self.progress.start()
            self._started = True
        stop = f", stop {info.n_stop}" if info.n_stop else ""
        self.progress.update(self.fold_task, status=f"fold {fold}: fit {info.n_fit}{stop}, valid {info.n_valid}")
        self.progress.reset(self.step_task, total=None, completed=0, status="features")

    def on_train_begin(self, total_steps: int | None) -> None:
        self.progress.reset(self.step_task, total=total_steps, completed=0, status="")

    def on_step_end(self, step: int, logs: dict[str, float]) -> None:
        shown = next(((k, logs[k]) for k in _SHOWN if k in logs), None)
        text = f"{shown[0]} {shown[1]:.4f}" if shown else ""
        self.progress.update(self.step_task, completed=step + 1, status=text)

    def on_fold_end(self, fold: int, logs: dict[str, Any]) -> None:
        self.progress.advance(self.fold_task)
        err.print(f"  {self.label} fold {fold}: accuracy {logs['accuracy']:.4f}, macro-F1 {logs['macro_f1']:.4f}, "
                  f"fit {logs['fit_seconds']:.1f}s")
