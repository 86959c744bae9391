"""Model adapters behind one interface (``kaggletk.models._base.Model``), one file each.

The registry maps a model name to ``module:Class``; modules are imported on first use so that
TensorFlow is loaded only by the Keras models. Adding a model is one file plus one line here.
"""

from __future__ import annotations

import importlib

from kaggletk.errors import KaggletkError
from kaggletk.models._base import Model, StepCallback

MODELS: dict[str, str] = {
    "mlp": "kaggletk.models.mlp:MlpModel",
    "lenet5": "kaggletk.models.lenet5:LeNet5Model",
    "cnn": "kaggletk.models.cnn:CnnModel",
    "resnet": "kaggletk.models.resnet:ResNetModel",
    "xgb": "kaggletk.models.xgb:XgbModel",
    "lgbm": "kaggletk.models.lgbm:LgbmModel",
    "rf": "kaggletk.models.rf:RandomForestModel",
    "logreg": "kaggletk.models.logreg:LogRegModel",
}


def get_model_class(name: str) -> type[Model]:
    """The adapter class registered as ``name``."""
    if name not in MODELS:
        raise KaggletkError(f"unknown model {name!r}; known models: {', '.join(MODELS)}")
    module_name, class_name = MODELS[name].split(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["MODELS", "Model", "StepCallback", "get_model_class"]
