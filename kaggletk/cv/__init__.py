"""Cross-validation: a request validated at the boundary, per-fold features, one fold's training, the run's loop.

``run_cv(CvRequest(...))`` trains one model per saved fold and writes its OOF and test predictions
to the store; ``run_grid`` does it for several requests at once (with a ``RayExecutor``, every
missing fold of every run concurrently on a Ray cluster); ``fit_fold`` trains one fold (what
tuning and sweeps call, and what a Ray task runs).
"""

from kaggletk.cv._executor import Executor, RunJob, SerialExecutor
from kaggletk.cv._features import FoldFeatures
from kaggletk.cv._fold import CHANCE_MARGIN, INNER_SHARE, FoldOutcome, fit_fold, fold_rows
from kaggletk.cv._ray import RayExecutor
from kaggletk.cv._request import CvRequest, RunSetup, default_run_name, prepare, resolve_model_params
from kaggletk.cv._run import CvResult, run_cv, run_grid

__all__ = ["CHANCE_MARGIN", "INNER_SHARE", "CvRequest", "CvResult", "Executor", "FoldFeatures", "FoldOutcome", "RayExecutor",
           "RunJob", "RunSetup", "SerialExecutor", "default_run_name", "fit_fold", "fold_rows", "prepare", "resolve_model_params",
           "run_cv", "run_grid"]
