"""kaggletk: a Kaggle competition toolkit for MNIST-family image classification."""

__version__ = "0.1.0"
