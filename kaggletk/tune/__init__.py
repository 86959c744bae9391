"""Tuning: Optuna studies over each adapter's ``search_space`` (fold-level and in-fold pruning,
resumable, shared by several workers through one storage), and one-parameter sweeps with replicates."""

from kaggletk.tune.objective import FOLD_STEP, CvObjective
from kaggletk.tune.storage import default_storage_url, mask_url, open_storage
from kaggletk.tune.sweep import SweepResult, parse_values, run_sweep
from kaggletk.tune.tuning import PRUNERS, TuneReporter, TuneResult, default_study_name, run_tune

__all__ = ["FOLD_STEP", "PRUNERS", "CvObjective", "SweepResult", "TuneReporter", "TuneResult", "default_storage_url",
           "default_study_name", "mask_url", "open_storage", "parse_values", "run_sweep", "run_tune"]
