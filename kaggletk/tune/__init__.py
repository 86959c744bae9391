"""Tuning: Optuna studies over each adapter's ``search_space`` (fold-level and in-fold pruning, resumable, shared by
several workers through one storage), and one-parameter sweeps with replicates."""

from kaggletk.tune._objective import FOLD_STEP, CvObjective
from kaggletk.tune._pruning import PruningCallback
from kaggletk.tune._storage import default_storage_url, mask_url, open_storage
from kaggletk.tune._study import PRUNERS, TuneOptions, TuneResult, default_study_name, run_tune, trial_info
from kaggletk.tune._sweep import SweepResult, parse_values, run_sweep

__all__ = ["FOLD_STEP", "PRUNERS", "CvObjective", "PruningCallback", "SweepResult", "TuneOptions", "TuneResult",
           "default_storage_url", "default_study_name", "mask_url", "open_storage", "parse_values", "run_sweep", "run_tune",
           "trial_info"]
