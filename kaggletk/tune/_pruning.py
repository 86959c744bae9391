"""Pruning inside a fold: one callback for every model, reading the standard ``val_loss`` key.

Each adapter reports its stopping rows' loss as ``val_loss`` after every epoch or boosting round
(``Model._step``); this callback passes it to the Optuna trial, which a pruner may stop there.
Models without such a curve (the scikit-learn ones) are pruned between folds only.
"""

from __future__ import annotations

from kaggletk.callbacks import Callback


class PruningCallback(Callback):
    """Report ``monitor`` to ``trial`` at each step; raise ``optuna.TrialPruned`` when the pruner says so."""

    def __init__(self, trial, monitor: str = "val_loss"):
        self.trial = trial
        self.monitor = monitor

    def on_step_end(self, step, logs):
        value = logs.get(self.monitor)
        if value is None:
            return
        self.trial.report(float(value), step)
        if self.trial.should_prune():
            import optuna

            raise optuna.TrialPruned(f"pruned at step {step}: {self.monitor} {value:.4f}")
