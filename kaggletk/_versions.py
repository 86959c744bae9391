"""The library versions a run was made with, recorded in every manifest and benchmark result."""

from __future__ import annotations

import platform
from importlib import metadata

from kaggletk import __version__

_LIBRARIES = ("numpy", "scikit-learn", "tensorflow", "keras", "xgboost", "lightgbm", "optuna")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "kaggletk": __version__}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions
