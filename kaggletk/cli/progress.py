"""Rich progress for CV runs: a bar over folds, a bar over epochs or rounds, the running score."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from kaggletk.cli._common import err, note
from kaggletk.cv import CvReporter
from kaggletk.models import StepCallback

_SHOWN = ("val_accuracy", "val_loss", "validation_0_merror", "valid_0_multi_error", "val_multi_error", "loss")


class _StepBar(StepCallback):
    def __init__(self, reporter: RichCvReporter):
        self.reporter = reporter

    def on_train_begin(self, total_steps):
        self.reporter.progress.reset(self.reporter.step_task, total=total_steps, completed=0)

    def on_step_end(self, step, metrics):
        shown = next(((k, v) for k in _SHOWN for kk, v in metrics.items() if kk == k), None)
        text = f"{shown[0]} {shown[1]:.4f}" if shown else ""
        self.reporter.progress.update(self.reporter.step_task, completed=step + 1, status=text)


class RichCvReporter(CvReporter):
    """Draws progress on stderr and prints one line per finished fold."""

    def __init__(self, label: str):
        self.label = label
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[status]}"), console=err, transient=True,
        )
        self.fold_task = self.progress.add_task(f"{label} folds", total=None, status="")
        self.step_task = self.progress.add_task("  epochs/rounds", total=None, status="")

        self._started = False

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self._started:  # started on the first fold, so errors before training print no empty bar
            self.progress.stop()

    def note(self, message: str) -> None:
        note(message)

    def fold_begin(self, fold: int, n_folds: int, n_fit: int, n_valid: int) -> None:
        if not self._started:
            self.progress.start()
            self._started = True
        self.progress.update(self.fold_task, total=n_folds, status=f"fold {fold}: fit {n_fit}, valid {n_valid}")

    def step_callback(self) -> StepCallback:
        return _StepBar(self)

    def fold_end(self, fold: int, result: dict[str, Any]) -> None:
        self.progress.advance(self.fold_task)
        err.print(f"  {self.label} fold {fold}: accuracy {result['accuracy']:.4f}, macro-F1 {result['macro_f1']:.4f}, "
                  f"fit {result['fit_seconds']:.1f}s")
