"""``stack``: a level-2 model trained on the runs' OOF probabilities (optionally log-odds).

Nested in the saved folds: for each fold, the level-2 model is fitted on the other folds' OOF
rows and predicts this fold's rows, so its OOF score is out-of-fold like any run's. Test
probabilities are the mean of the K fold models' predictions on the runs' test probabilities.
Default level-2 model: multinomial logistic regression; ``lgbm`` is the option.
"""

from __future__ import annotations

import numpy as np

from kaggletk.blend._base import BlendInput, BlendMethod, BlendOutput
from kaggletk._registry import Registry
from kaggletk.errors import KaggletkError

def features(stack: np.ndarray, log_odds: bool, dtype=np.float32) -> np.ndarray:
    """(R, n, C) probabilities -> (n, R*C) level-2 features, computed in float64 and stored as ``dtype``.

    float32 by default: the level-2 fits are matrix products over these features, and float32 halves
    their memory and cuts their time by 1.2-1.5x (``bench/blend_cost.py`` times both side by side; the
    fitted models agree to the solver's tolerance: the same OOF accuracy, probabilities within a few
    hundredths).
    """
    x = np.clip(stack.astype(np.float64), 1e-6, 1 - 1e-6)
    if log_odds:
        x = np.log(x / (1 - x))
    return np.concatenate(list(x), axis=1).astype(dtype)


def _logreg(seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500, random_state=seed))


def _lgbm(seed: int):
    import lightgbm as lgb

    return lgb.LGBMClassifier(objective="multiclass", n_estimators=200, learning_rate=0.05, num_leaves=15,
                              min_child_samples=20, subsample=0.8, subsample_freq=1, colsample_bytree=0.8,
                              random_state=seed, verbose=-1)


# Level-2 models, by name: a factory of a fresh scikit-learn classifier for a seed.
STACKERS: Registry = Registry("stacker", "--stacker")
STACKERS.register("logreg", _logreg)
STACKERS.register("lgbm", _lgbm)


def _proba(model, X: np.ndarray, n_classes: int) -> np.ndarray:
    proba = model.predict_proba(X)
    classes = model.classes_ if hasattr(model, "classes_") else model[-1].classes_  # a Pipeline's last step
    full = np.zeros((len(X), n_classes))
    full[:, classes] = proba
    return full


class StackBlend(BlendMethod):
    name = "stack"
    #: the level-2 features' dtype (a subclass may choose float64; ``bench/blend_cost.py`` does, to compare)
    feature_dtype = np.float32
    #: logreg folds fitted at once (None: one per core; ``bench/blend_cost.py`` times 1 beside it)
    n_jobs: int | None = None

    def __init__(self, stacker: str = "logreg", log_odds: bool = False, seed: int = 0):
        STACKERS.get(stacker)  # an unknown stacker fails before any work
        self.stacker, self.log_odds, self.seed = stacker, log_odds, seed

    def blend(self, data: BlendInput) -> BlendOutput:
        from joblib import Parallel, delayed
        from threadpoolctl import threadpool_limits

        from kaggletk._threads import available_cores

        n_classes = data.oof.shape[2]
        X, X_test = features(data.oof, self.log_odds, self.feature_dtype), features(data.test, self.log_odds, self.feature_dtype)
        oof = np.zeros((X.shape[0], n_classes))
        test = np.zeros((X_test.shape[0], n_classes))
        reliance = np.zeros(data.oof.shape[0])
        files: dict[str, bytes] = {}

        def fit(fold: int):
            fit_rows, _ = data.folds.split(fold)
            return STACKERS.get(self.stacker)(self.seed).fit(X[fit_rows], data.y[fit_rows])

        # One BLAS thread per fit: the problem is small per call, and more threads thrash beside OpenMP libraries.
        # The logreg folds fit in parallel threads instead (NumPy and the solver release the GIL), one per core:
        # 1.5-1.8x on 2 idle cores (bench/blend_cost.py), the same models; LightGBM threads itself.
        jobs = min(data.folds.n_splits, self.n_jobs or available_cores()) if self.stacker == "logreg" else 1
        with threadpool_limits(limits=1, user_api="blas"):
            models = Parallel(n_jobs=jobs, prefer="threads")(delayed(fit)(fold) for fold in range(data.folds.n_splits))
        for fold, model in enumerate(models):
            _, held = data.folds.split(fold)
            oof[held] = _proba(model, X[held], n_classes)
            test += _proba(model, X_test, n_classes)
            reliance += _reliance(model, data.oof.shape[0])
            files[f"stack-{fold}.{'skops' if self.stacker == 'logreg' else 'txt'}"] = dump_stacker(model)
        test /= data.folds.n_splits
        details = {"stacker": self.stacker, "log_odds": self.log_odds}
        if reliance.sum() > 0:
            details["weights"] = {n: float(w) for n, w in zip(data.names, reliance / reliance.sum())}
        return BlendOutput(oof.astype(np.float32), test.astype(np.float32), details, files)


def _reliance(model, n_runs: int) -> np.ndarray:
    """How much a level-2 model leans on each run: mean |coefficient| (logreg) or gain share (lgbm)."""
    if hasattr(model, "feature_importances_"):
        importance = np.asarray(model.booster_.feature_importance(importance_type="gain"), dtype=np.float64)
        return importance.reshape(n_runs, -1).sum(axis=1)
    coef = np.abs(model[-1].coef_)
    return coef.reshape(coef.shape[0], n_runs, -1).mean(axis=(0, 2))


def dump_stacker(model) -> bytes:
    """A fitted level-2 model as bytes, without pickle: scikit-learn's through skops, LightGBM's as its text model."""
    if hasattr(model, "booster_"):
        import json

        return json.dumps({"classes": [int(c) for c in model.classes_], "model": model.booster_.model_to_string()}).encode()
    import skops.io as sio

    return sio.dumps(model)


class _LoadedBooster:
    def __init__(self, data: bytes):
        import json

        import lightgbm as lgb

        saved = json.loads(data)
        self.classes_ = np.array(saved["classes"])
        self.booster = lgb.Booster(model_str=saved["model"])

    def predict_proba(self, X):
        return self.booster.predict(X)


def load_stacker(path) -> object:
    """A level-2 model written by ``dump_stacker`` (scikit-learn and NumPy types only, for skops files)."""
    from pathlib import Path

    data = Path(path).read_bytes()
    if Path(path).suffix == ".txt":
        return _LoadedBooster(data)
    import skops.io as sio

    untrusted = sio.get_untrusted_types(data=data)
    foreign = [t for t in untrusted if not t.startswith(("sklearn.", "numpy."))]
    if foreign:
        raise KaggletkError(f"{path}: holds types kaggletk does not load ({', '.join(foreign[:3])}); refusing it")
    return sio.loads(data, trusted=untrusted)


def predict_stack(models: list, stack: np.ndarray, log_odds: bool, n_classes: int) -> np.ndarray:
    """The mean of the fold level-2 models' probabilities for the runs' probabilities ``stack`` (R, n, C)."""
    X = features(stack, log_odds)
    return (sum(_proba(m, X, n_classes) for m in models) / len(models)).astype(np.float32)
