"""The model interface every adapter implements, in the spirit of scikit-learn's estimators.

Parameters go in through ``__init__`` unchanged; learned state gets a trailing underscore
(``model_``, ``history_``, ``best_iteration_``). ``get_params()`` is enough to rebuild the model
for a manifest. Native library parameters are passed through under their own names.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from kaggletk.errors import KaggletkError


class StepCallback:
    """Called after every epoch or boosting round; the kaggletk-level extension point.

    Adapters translate it into their library's callback (Keras ``Callback``, XGBoost
    ``TrainingCallback``, a LightGBM callback function). Set ``stop_training = True`` to stop.
    """

    stop_training: bool = False

    def on_train_begin(self, total_steps: int | None) -> None:
        """``total_steps``: the most epochs or rounds this fit can run."""

    def on_step_end(self, step: int, metrics: dict[str, float]) -> None:
        """``step`` counts from 0; ``metrics`` e.g. ``{"loss": .., "val_accuracy": ..}``."""


class Model(ABC):
    """A classifier over one feature view.

    Parameters
    ----------
    n_classes : int
        Number of classes; labels passed to ``fit`` are class indices 0..n_classes-1.
    params : dict, optional
        Overrides of ``default_params()``; the adapter's library receives them under their own names.
    device : {"auto", "cpu", "gpu"}
    seed : int
        Seeds every random source the model uses, so CPU runs are reproducible.
    """

    name: ClassVar[str]
    views: ClassVar[tuple[str, ...]]
    default_view: ClassVar[str]
    supports_gpu: ClassVar[bool] = False
    # Whether unknown parameter names go through to the library (native APIs with many options).
    pass_through_params: ClassVar[bool] = False

    def __init__(self, n_classes: int, params: dict[str, Any] | None = None, device: str = "auto", seed: int = 0):
        self.n_classes = n_classes
        self.params = params or {}
        self.device = device
        self.seed = seed

    @classmethod
    @abstractmethod
    def default_params(cls) -> dict[str, Any]:
        """The parameters used when none are given: sane for 28x28 images of 10-25 classes."""

    @classmethod
    @abstractmethod
    def search_space(cls, trial) -> dict[str, Any]:
        """Parameters suggested by an Optuna ``trial`` (merged over ``default_params()``)."""

    def get_params(self) -> dict[str, Any]:
        return {"n_classes": self.n_classes, "params": self.resolved_params(), "device": self.device, "seed": self.seed}

    def resolved_params(self) -> dict[str, Any]:
        return {**self.default_params(), **self.params}

    @classmethod
    def check_params(cls, params: dict[str, Any]) -> dict[str, Any]:
        """Validate user parameters against ``default_params()``: known names and matching types."""
        defaults = cls.default_params()
        for key, value in params.items():
            if key not in defaults:
                if cls.pass_through_params:
                    continue
                raise KaggletkError(
                    f"--params: unknown parameter {key!r} for model {cls.name}; known: {', '.join(sorted(defaults))}"
                )
            expected = defaults[key]
            if not _same_kind(expected, value):
                raise KaggletkError(
                    f"--params: {key!r} for model {cls.name} must be {_kind_name(expected)}, got {value!r} ({type(value).__name__})"
                )
        return params

    @abstractmethod
    def fit(self, X: np.ndarray, y: np.ndarray, X_valid: np.ndarray | None = None, y_valid: np.ndarray | None = None,
            callbacks: Sequence[Any] = ()) -> Model:
        """Train on ``X`` (n, ...) float32 and ``y`` (n,) int class indices.

        ``X_valid``/``y_valid`` drive early stopping (see ``stops_early``). ``callbacks`` holds ``StepCallback``
        instances and/or native callbacks of the adapter's library.
        """

    @abstractmethod
    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Class probabilities, ndarray of shape (n, n_classes), float32, rows summing to 1."""

    @classmethod
    def stops_early(cls, params: dict[str, Any]) -> bool:
        """Whether ``fit`` with these params chooses its length (epochs, rounds) on the validation rows it is given.

        The CV then gives it rows of the training part to stop on, not the held-out fold it scores.
        """
        return False

    @classmethod
    def pruning_callback(cls, trial) -> Any | None:
        """Optuna's integration callback that reports this model's validation loss per epoch or round
        (lower is better) so a pruner can stop a bad trial inside a fold; None when there is none."""
        return None

    # Filled by fit where the library has them.
    history_: dict[str, list[float]] | None = None
    best_iteration_: int | None = None


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
