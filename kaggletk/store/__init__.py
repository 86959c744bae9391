"""The OOF store: one folder per run or blend under ``oof/<comp>/``, with a typed manifest."""

from kaggletk.store._manifest import RUN_FORMAT, BlendInfo, CvSummary, FoldEntry, RunManifest, TestScore
from kaggletk.store._run import (Run, drop_unreferenced, list_runs, load_run, read_manifest, run_folder, run_lock, save_final,
                                 save_fold, save_manifest)
from kaggletk.store._summary import fold_models_test_scores, fold_scores, holdout_score, summarise

__all__ = ["RUN_FORMAT", "BlendInfo", "CvSummary", "FoldEntry", "Run", "RunManifest", "TestScore", "drop_unreferenced",
           "fold_models_test_scores", "fold_scores", "holdout_score", "list_runs", "load_run", "read_manifest", "run_folder", "run_lock",
           "save_final", "save_fold", "save_manifest", "summarise"]
