"""Feature views, registered by name; a model declares the kind of view it accepts (flat or image).

``image`` (n, h, w, c), ``pixels`` (n, h*w*c), ``pca`` (fitted per fold), ``hog``, ``pcahog`` (both), ``compact`` (PCA of
the pixels and of fine HOG). Stateless views, and the stateless parts of learned ones, are computed once per data set and
cached beside it (``data/<variant>/views/<name>-<params hash>.npz``).
"""

from kaggletk._registry import Registry
from kaggletk.views._base import Parts, View
from kaggletk.views._cache import stateless_features
from kaggletk.views.compact import CompactView
from kaggletk.views.hog import HogView
from kaggletk.views.image import ImageView
from kaggletk.views.pca import PcaView
from kaggletk.views.pcahog import PcaHogView
from kaggletk.views.pixels import PixelsView

VIEWS: Registry[type[View]] = Registry("view", "--view")
VIEWS.register("image", ImageView)
VIEWS.register("pixels", PixelsView)
VIEWS.register("pca", PcaView)
VIEWS.register("hog", HogView)
VIEWS.register("pcahog", PcaHogView)
VIEWS.register("compact", CompactView)


def get_view(name: str, **params) -> View:
    """A new instance of the view registered as ``name``, with its parameters (e.g. ``n_components=40``).

    >>> get_view("pca", n_components=40).get_params()
    {'n_components': 40}
    """
    import inspect

    from kaggletk.errors import KaggletkError

    cls = VIEWS.get(name)
    signature = inspect.signature(cls).parameters
    known = list(signature)
    unknown = [k for k in params if k not in known]
    if unknown:
        raise KaggletkError(f"--view-params: view {name} has no parameter {unknown[0]!r}; it takes "
                            f"{', '.join(known) or 'no parameters'}")
    for key, value in params.items():
        _check_view_param(name, key, value, signature[key].default)
    return cls(**params)


def _check_view_param(view: str, key: str, value, default) -> None:
    """View parameters are whole numbers: counts and sizes at least 1, ``seed`` any, ``n_jobs`` -1 or at least 1."""
    from kaggletk.errors import KaggletkError

    if not isinstance(default, int) or isinstance(default, bool):
        return
    if not isinstance(value, int) or isinstance(value, bool):
        raise KaggletkError(f"--view-params: {key} of view {view} is a whole number, not {value!r}")
    if key == "seed":
        return
    if value >= 1 or (key == "n_jobs" and value == -1):
        return
    raise KaggletkError(f"--view-params: {key} of view {view} must be at least 1{' (or -1: every core)' if key == 'n_jobs' else ''}, "
                        f"not {value}")


def views_of_kind(kind: str) -> tuple[str, ...]:
    """The registered views producing ``kind`` features ("flat" or "image")."""
    return tuple(name for name, cls in VIEWS.items() if cls.kind == kind)


__all__ = ["VIEWS", "Parts", "View", "get_view", "stateless_features", "views_of_kind"]
