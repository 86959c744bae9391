"""Model adapters behind one interface (``Model``), one file each, registered by name.

Entries are ``module:Class`` strings, imported on first use, so TensorFlow is loaded only by the
Keras models. Adding a model is one file plus one line here; nothing else in kaggletk names it.
"""

from kaggletk._registry import Registry
from kaggletk.models._base import Model, Range

MODELS: Registry[type[Model]] = Registry("model", "--model")
MODELS.register("mlp", "kaggletk.models.mlp:MlpModel")
MODELS.register("lenet5", "kaggletk.models.lenet5:LeNet5Model")
MODELS.register("cnn", "kaggletk.models.cnn:CnnModel")
MODELS.register("resnet", "kaggletk.models.resnet:ResNetModel")
MODELS.register("resnet20", "kaggletk.models.resnet20:ResNet20Model")
MODELS.register("xgb", "kaggletk.models.xgb:XgbModel")
MODELS.register("lgbm", "kaggletk.models.lgbm:LgbmModel")
MODELS.register("rf", "kaggletk.models.rf:RandomForestModel")
MODELS.register("logreg", "kaggletk.models.logreg:LogRegModel")


def get_model_class(name: str) -> type[Model]:
    """The adapter class registered as ``name``."""
    return MODELS.get(name)


__all__ = ["MODELS", "Model", "Range", "get_model_class"]
