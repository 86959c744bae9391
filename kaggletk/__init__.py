"""kaggletk: a Kaggle competition toolkit for MNIST-family image classification."""

from kaggletk._threads import configure_threads

__version__ = "0.1.0"

configure_threads()
