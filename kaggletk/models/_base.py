"""The model interface: the base class owns the flow, an adapter writes what is specific to its library.

As in AutoGluon's ``AbstractModel``, ``Model.fit`` is concrete: it validates the inputs, resolves
the device, wires the callbacks, records the history under standard keys, decides which rows
early stopping may watch, and turns a library's GPU failure into one line. An adapter writes
``default_params``, ``search_space``, ``_fit`` and ``_predict_proba`` (and ``_stops_early``
when it chooses its length on stopping rows).

As in scikit-learn, parameters go in through ``__init__`` unchanged (a documented ``params`` dict
of native parameter names, plus ``n_classes``, ``device``, ``seed``, ``precision``), learned
state gets a trailing underscore, and ``get_params``/``set_params`` make a model ``clone``-able
and usable in a ``Pipeline`` or ``cross_val_score`` on a view's features.

Honest CV by construction: ``fit`` hands stopping rows (``X_stop``/``y_stop``) to ``_fit`` only
when the model declares that it stops early; otherwise it drops them, so they cannot influence the
model. The CV runner gives stopping rows only from the training part of a fold, never the
held-out rows it scores (``tests/test_model_contract.py`` checks both for every registered model).
"""

from __future__ import annotations

import difflib
import math
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from kaggletk.callbacks import CallbackList, split_callbacks
from kaggletk.errors import KaggletkError


@dataclass(frozen=True)
class Range:
    """The valid values of a numeric parameter, for a one-line refusal that states them."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def contains(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        if self.high is not None and (value > self.high or (self.high_open and value == self.high)):
            return False
        return True

    def __str__(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{'(' if self.low_open else '['}{self.low:g}, {self.high:g}{')' if self.high_open else ']'}"
        if self.low is not None:
            return f"{'>' if self.low_open else '>='} {self.low:g}"
        return f"{'<' if self.high_open else '<='} {self.high:g}"


class Model(ABC):
    """A classifier over one feature view.

    Parameters
    ----------
    params : dict, optional
        Overrides of ``default_params()``, under the library's own parameter names.
    n_classes : int, optional
        Number of classes; ``fit`` takes labels 0..n_classes-1. Default: ``max(y) + 1``.
    device : {"auto", "cpu", "gpu"}
        ``auto`` uses a GPU when one is visible and the model can; ``gpu`` insists on one.
    seed : int
        Seeds every random source the model uses, so CPU runs are reproducible.
    precision : {"auto", "float32", "bfloat16", "mixed_float16"}
        Compute precision of neural networks (ignored by the others); see ``kaggletk.models._device``.
    metric : str, optional
        The competition's metric (``kaggletk.metrics``); early stopping follows it where the library can
        (log loss: XGBoost and LightGBM stop on the log loss rather than the error).

    Examples
    --------
    >>> from kaggletk.models import get_model_class
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 4)).astype(np.float32); y = (X[:, 0] > 0).astype(int)
    >>> model = get_model_class("logreg")({"C": 1.0}).fit(X, y)
    >>> model.predict_proba(X[:2]).shape
    (2, 2)
    >>> model.get_params()["params"]
    {'C': 1.0}
    """

    name: ClassVar[str]
    accepts: ClassVar[str] = "flat"  # the kind of view it takes: "flat" (n, d) or "image" (n, h, w, c)
    default_view: ClassVar[str]
    supports_gpu: ClassVar[bool] = False
    library: ClassVar[str] = ""  # for messages ("XGBoost")
    gpu_hint: ClassVar[str] = ""  # how to get the library's GPU build
    step_unit: ClassVar[str] = "fit"  # one on_step_end per "epoch", "round", or one "fit"
    # Unknown parameter names go through to the library (native APIs with many options).
    pass_through_params: ClassVar[bool] = False
    _estimator_type = "classifier"  # scikit-learn < 1.6

    def __init__(self, params: dict[str, Any] | None = None, *, n_classes: int | None = None, device: str = "auto",
                 seed: int = 0, precision: str = "auto", metric: str | None = None):
        self.params = params
        self.n_classes = n_classes
        self.device = device
        self.seed = seed
        self.precision = precision
        self.metric = metric

    # ------------------------------------------------------------------ what an adapter writes

    @classmethod
    @abstractmethod
    def default_params(cls) -> dict[str, Any]:
        """The parameters used when none are given: sane for 28x28 images of 10-25 classes."""

    @classmethod
    @abstractmethod
    def search_space(cls, trial) -> dict[str, Any]:
        """Parameters suggested by an Optuna ``trial`` (merged over ``default_params()``)."""

    @abstractmethod
    def _fit(self, X: np.ndarray, y: np.ndarray, X_stop: np.ndarray | None, y_stop: np.ndarray | None,
             native_callbacks: list[Any], checkpoint_dir: Any) -> None:
        """Train; call ``self._begin(total)`` once and ``self._step(i, logs)`` per epoch or round.

        ``X_stop``/``y_stop`` are given only when ``stops_early`` is true. ``native_callbacks``
        are callbacks of the library itself (Keras ``Callback``, XGBoost ``TrainingCallback``...).
        ``checkpoint_dir``, when given, is where a resumable fit may keep its state between steps.
        """

    @abstractmethod
    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities (n, n_classes); ``predict_proba`` normalises them."""

    def _save_model(self, stem: Path) -> Path:
        """Write the fitted library model in the library's own format at ``stem`` + its extension; return the path.

        By default a scikit-learn estimator in ``model_`` is written with ``skops`` (no pickle); an
        adapter of another library overrides this (and ``_load_model``), or its runs keep no models.
        """
        from sklearn.base import BaseEstimator

        if not isinstance(getattr(self, "model_", None), BaseEstimator):
            raise NotImplementedError(f"{self.name} cannot save its fitted model")
        import skops.io as sio

        from kaggletk._io import write_bytes

        path = Path(f"{stem}.skops")
        write_bytes(path, sio.dumps(self.model_))
        return path

    def _load_model(self, path: Path) -> None:
        """Read a model written by ``_save_model`` into ``model_`` (by default a scikit-learn ``.skops`` file)."""
        if Path(path).suffix != ".skops":
            raise NotImplementedError(f"{self.name} cannot load a saved model")
        import skops.io as sio

        data = Path(path).read_bytes()
        untrusted = sio.get_untrusted_types(data=data)
        foreign = [t for t in untrusted if not t.startswith(("sklearn.", "numpy."))]
        if foreign:  # only scikit-learn's and NumPy's own types are ever rebuilt: no code of the file's choosing
            raise KaggletkError(f"{path}: holds types kaggletk does not load ({', '.join(foreign[:3])}); refusing it")
        self.model_ = sio.loads(data, trusted=untrusted)

    @classmethod
    def _stops_early(cls, params: dict[str, Any]) -> bool:
        """Whether ``fit`` with these params chooses its length (epochs, rounds) on stopping rows."""
        return False

    @classmethod
    def param_ranges(cls) -> dict[str, Range | tuple]:
        """Valid ranges (``Range``) or choices (a tuple) of parameters, checked by ``check_params``."""
        return {}

    @classmethod
    def known_params(cls) -> set[str] | None:
        """Every parameter name the library accepts when ``pass_through_params`` (None: any)."""
        return None

    # ------------------------------------------------------------------ scikit-learn conventions

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor arguments, unchanged (``sklearn.base.clone`` rebuilds the model from them)."""
        return {"params": self.params, "n_classes": self.n_classes, "device": self.device, "seed": self.seed,
                "precision": self.precision, "metric": self.metric}

    def set_params(self, **params: Any) -> Model:
        """Set constructor arguments; ``params__<name>=value`` sets one entry of ``params``."""
        valid = self.get_params()
        for key, value in params.items():
            if key.startswith("params__"):
                self.params = {**(self.params or {}), key[len("params__"):]: value}
            elif key in valid:
                setattr(self, key, value)
            else:
                raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; valid: {', '.join(valid)} "
                                 "or params__<name>")
        return self

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, InputTags, Tags, TargetTags

        return Tags(estimator_type="classifier", target_tags=TargetTags(required=True),
                    classifier_tags=ClassifierTags(), input_tags=InputTags(allow_nan=False))

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items() if v != _DEFAULTS.get(k))
        return f"{type(self).__name__}({shown})"

    def resolved_params(self) -> dict[str, Any]:
        return {**self.default_params(), **(self.params or {})}

    @property
    def stops_early(self) -> bool:
        """Whether this model, with its params, picks its length on stopping rows (and so gets them in ``fit``)."""
        return self._stops_early(self.resolved_params())

    # ------------------------------------------------------------------ the flow the base class owns

    def fit(self, X: np.ndarray, y: np.ndarray, *, X_stop: np.ndarray | None = None, y_stop: np.ndarray | None = None,
            callbacks: Sequence[Any] = (), checkpoint_dir: Any = None) -> Model:
        """Train on ``X`` and ``y``.

        Parameters
        ----------
        X : ndarray of shape (n, d) for flat views or (n, h, w, c) for images, float32
        y : ndarray of shape (n,), int class indices 0..n_classes-1
        X_stop, y_stop : optional rows for early stopping (of the training data, never the rows
            to be scored); used only when ``stops_early``, ignored otherwise.
        callbacks : kaggletk ``Callback`` objects (``on_train_begin``, ``on_step_end`` with standard
            keys) and/or native callbacks of the model's library.
        checkpoint_dir : optional folder where a resumable fit keeps its state.

        Returns
        -------
        self, with ``history_`` (dict of per-step lists under standard keys), ``best_iteration_``,
        ``classes_``, ``n_classes_``, ``device_`` and ``resumed_seconds_`` (the fit seconds of the
        steps restored from ``checkpoint_dir``, which earlier processes spent; 0.0 otherwise).
        """
        from kaggletk.models._device import resolve_device

        X = self._check_X(X, "X")
        y = _check_y(y, len(X), "y")
        self.n_classes_ = int(self.n_classes if self.n_classes is not None else int(y.max()) + 1)
        if y.max(initial=0) >= self.n_classes_:
            raise ValueError(f"y holds class {int(y.max())} but n_classes is {self.n_classes_}")
        self.classes_ = np.arange(self.n_classes_)
        self.n_features_in_ = int(np.prod(X.shape[1:]))
        self.device_ = resolve_device(self.device, self.name, self.supports_gpu)
        if self.stops_early and X_stop is not None and y_stop is not None:
            X_stop, y_stop = self._check_X(X_stop, "X_stop"), _check_y(y_stop, len(X_stop), "y_stop")
        else:
            X_stop = y_stop = None
        self._observers, native = split_callbacks(callbacks)
        self._callback_error: BaseException | None = None
        self.history_: dict[str, list[float]] = {}
        self.best_iteration_: int | None = None
        self.resumed_seconds_ = 0.0
        try:
            self._fit(X, y, X_stop, y_stop, native, checkpoint_dir)
        except KaggletkError:
            raise
        except Exception as exc:
            if exc is self._callback_error or self.device_ != "gpu":
                raise
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise KaggletkError(f"--device gpu: {self.library or self.name} cannot use the GPU ({first}); "
                                f"{self.gpu_hint + ' or ' if self.gpu_hint else ''}use --device cpu") from exc
        finally:
            self._observers = CallbackList()
        return self

    @staticmethod
    def _threads(params: dict[str, Any]) -> dict[str, Any]:
        """``params`` with ``n_jobs=-1`` (all cores) replaced by the cores this process may use (its CPU affinity)."""
        from kaggletk._threads import available_cores

        if params.get("n_jobs", -1) in (-1, None):
            return {**params, "n_jobs": available_cores()}
        return params

    def _begin(self, total_steps: int | None) -> None:
        """Adapters call this once, before the first step."""
        self._guard(self._observers.on_train_begin, total_steps)

    def _step(self, step: int, logs: dict[str, float]) -> bool:
        """Adapters call this after every epoch or round; returns whether a callback asked to stop."""
        logs = {k: float(v) for k, v in logs.items()}
        for key, value in logs.items():
            self.history_.setdefault(key, []).append(value)
        self._guard(self._observers.on_step_end, step, logs)
        return self._observers.stop_training

    def _guard(self, hook, *args) -> None:
        try:
            hook(*args)
        except BaseException as exc:  # a callback's exception (TrialPruned...) goes through untranslated
            self._callback_error = exc
            raise

    # ------------------------------------------------------------------ saved models (inference after a run)

    def save(self, folder: Path, stem: str) -> dict[str, dict[str, str]]:
        """Write the fitted model in its library's own safe format, and what rebuilds it, under ``folder``.

        Returns the files by role (``model``, ``meta``), each ``{"file", "sha256"}``, for a manifest.
        Nothing is pickled: Keras ``.keras``, XGBoost UBJSON, LightGBM text, scikit-learn ``skops``.
        """
        from kaggletk._io import sha256_file, write_json

        if not hasattr(self, "classes_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit first")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        model_path = self._save_model(folder / stem)
        meta_path = folder / f"{stem}.json"
        write_json(meta_path, {"model": self.name, "params": self.params, "n_classes": self.n_classes_, "seed": self.seed,
                               "precision": getattr(self, "precision_", self.precision), "metric": self.metric,
                               "best_iteration": self.best_iteration_})
        return {role: {"file": path.name, "sha256": sha256_file(path)} for role, path in (("model", model_path),
                                                                                          ("meta", meta_path))}

    @classmethod
    def load(cls, folder: Path, files: dict[str, dict[str, str]], device: str = "auto") -> Model:
        """A fitted model from the files ``save`` wrote, each checked against its sha256 first (a changed file is refused)."""
        from kaggletk._io import read_json, sha256_file
        from kaggletk.models._device import resolve_device

        folder = Path(folder)
        for role, entry in files.items():
            path = folder / entry["file"]
            if not path.exists():
                raise KaggletkError(f"{path}: the saved {role} of this fold is missing; train the run again (--overwrite)")
            if sha256_file(path) != entry["sha256"]:
                raise KaggletkError(f"{path}: changed since it was saved (checksum differs from the manifest); refusing to "
                                    "load it: train the run again (--overwrite)")
        meta = read_json(folder / files["meta"]["file"])
        if meta.get("model") != cls.name:
            raise KaggletkError(f"{folder / files['meta']['file']}: a saved {meta.get('model')} model, not {cls.name}")
        model = cls(meta["params"], n_classes=meta["n_classes"], device=device, seed=meta["seed"], metric=meta.get("metric"))
        model.n_classes_ = int(meta["n_classes"])
        model.classes_ = np.arange(model.n_classes_)
        model.device_ = resolve_device(device, cls.name, cls.supports_gpu)
        model.precision_ = meta.get("precision")
        model.best_iteration_ = meta.get("best_iteration")
        model.history_ = {}
        model._load_model(folder / files["model"]["file"])
        return model

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, ndarray of shape (n, n_classes), float32, rows summing to 1."""
        if not hasattr(self, "classes_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet; call fit first")
        proba = np.asarray(self._predict_proba(self._check_X(X, "X")))
        if proba.shape[1] != self.n_classes_:
            raise ValueError(f"{self.name} predicted {proba.shape[1]} classes, expected {self.n_classes_}")
        return normalise_proba(proba)

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Class indices, ndarray of shape (n,), int64."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

    def score(self, X: np.ndarray, y: np.ndarray) -> float:
        """Accuracy of ``predict(X)`` against ``y`` (scikit-learn's classifier convention)."""
        return float(np.mean(self.predict(X) == np.asarray(y)))

    def _check_X(self, X: np.ndarray, name: str) -> np.ndarray:
        X = np.asarray(X)
        want = 2 if self.accepts == "flat" else 4
        if X.ndim != want:
            shape = "(n, features)" if want == 2 else "(n, height, width, channels)"
            raise ValueError(f"{self.name}: {name} has shape {X.shape}; expected {shape} from a {self.accepts} view")
        if X.dtype != np.float32:
            X = X.astype(np.float32)
        return X

    # ------------------------------------------------------------------ validation at the boundary

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Validate user parameters: known names (closest one suggested), matching types, valid ranges."""
        defaults = cls.default_params()
        known = cls.known_params() if cls.pass_through_params else set(defaults)
        ranges = cls.param_ranges()
        for key, value in params.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise KaggletkError(f"--params: {key!r} for model {cls.name} is {value!r}; give a finite number")
            if known is not None and key not in known and key not in defaults:
                # the documented names first (an adapter's defaults), then every name the library knows
                close = (difflib.get_close_matches(key, sorted(defaults), n=1)
                         or difflib.get_close_matches(key, sorted(set(known) | set(defaults)), n=1))
                hint = f"did you mean {close[0]!r}? " if close else ""
                listing = "" if cls.pass_through_params else f"known: {', '.join(sorted(defaults))}"
                raise KaggletkError(f"--params: unknown parameter {key!r} for model {cls.name}; {hint}{listing}".rstrip("; "))
            expected = defaults.get(key)
            if key in defaults and not _same_kind(expected, value):
                raise KaggletkError(
                    f"--params: {key!r} for model {cls.name} must be {_kind_name(expected)}, got {value!r} ({type(value).__name__})"
                )
            rule = ranges.get(key)
            if isinstance(rule, Range) and isinstance(value, (int, float)) and not isinstance(value, bool) \
                    and not rule.contains(value):
                raise KaggletkError(f"--params: {key!r} for model {cls.name} must be in {rule}, got {value!r}")
            if isinstance(rule, tuple) and value not in rule:
                raise KaggletkError(f"--params: {key!r} for model {cls.name} must be one of "
                                    f"{', '.join(map(repr, rule))}, got {value!r}")
        return params


_DEFAULTS = {"params": None, "n_classes": None, "device": "auto", "seed": 0, "precision": "auto", "metric": None}


def _check_y(y: np.ndarray, n: int, name: str) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n:
        raise ValueError(f"{name} has shape {y.shape}; expected ({n},) class indices")
    if y.dtype.kind not in "iu":
        if y.dtype.kind == "f" and np.array_equal(y, np.rint(y)):
            y = y.astype(np.int64)
        else:
            raise ValueError(f"{name} must hold integer class indices 0..n_classes-1, got dtype {y.dtype}")
    if len(y) and y.min() < 0:
        raise ValueError(f"{name} holds a negative class index {int(y.min())}")
    return y.astype(np.int64, copy=False)


def _same_kind(expected: Any, value: Any) -> bool:
    if expected is None or value is None:
        return True
    if isinstance(expected, bool):
        return isinstance(value, bool)
    if isinstance(expected, int):
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(expected, float):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if isinstance(expected, str):
        return isinstance(value, str)
    if isinstance(expected, (list, tuple)):
        return isinstance(value, (list, tuple))
    return True


def _kind_name(expected: Any) -> str:
    return {bool: "true/false", int: "an integer", float: "a number", str: "a string"}.get(type(expected), type(expected).__name__)


def normalise_proba(proba: np.ndarray) -> np.ndarray:
    """float32 probabilities whose rows sum to 1 (guards against float drift in libraries)."""
    proba = np.asarray(proba, dtype=np.float64)
    proba = np.clip(proba, 0.0, None)
    proba /= proba.sum(axis=1, keepdims=True)
    return proba.astype(np.float32)
