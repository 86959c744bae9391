"""kaggletk: a Kaggle competition toolkit for MNIST-family image classification.

The Python API (the CLI is a thin layer over the same calls)::

    import kaggletk
    run = kaggletk.cv("fashion_mnist", "cnn", data="sample")   # a RunResult: .oof, .test, .scores, .summary()
    kaggletk.leaderboard("fashion_mnist")                       # a pandas DataFrame
    best = kaggletk.blend("fashion_mnist")
    best.predict(new_images)                                    # the saved fold models on new images
    best.submission()                                           # submissions/fashion_mnist/blend-auto.csv
"""

import sys
import types

from kaggletk._threads import configure_threads

__version__ = "0.1.0"

configure_threads()

from kaggletk._api import (NotebookProgress, Report, RunResult, blend, cv, leaderboard, load, predict,  # noqa: E402
                           report, submit, tune)
from kaggletk.callbacks import Callback  # noqa: E402
from kaggletk.competition import Competition, load_competition  # noqa: E402
from kaggletk.errors import KaggletkError  # noqa: E402



class _Package(types.ModuleType):
    """``kaggletk.cv`` stays the API function after ``kaggletk.cv`` the subpackage is imported.

    Importing a submodule binds it as an attribute of its package, which would replace the
    function of the same name (``cv``, ``tune``, ``blend``, ``report``, ``leaderboard``); the
    subpackages stay importable by name (``from kaggletk.cv import run_cv``).
    """

    def __setattr__(self, name, value):
        if isinstance(value, types.ModuleType) and callable(self.__dict__.get(name)):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__all__ = ["Callback", "Competition", "KaggletkError", "NotebookProgress", "Report", "RunResult", "__version__", "blend", "cv",
           "leaderboard", "load", "load_competition", "predict", "report", "submit", "tune"]
