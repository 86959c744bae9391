"""A cross-validation request, and its validation at the boundary into everything a run needs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from kaggletk.callbacks import Callback
from kaggletk.cv._pseudo import DEFAULT_THRESHOLD, PseudoLabels, load_pseudo_labels
from kaggletk.data import Dataset, load_dataset
from kaggletk.errors import KaggletkError
from kaggletk.folds import Folds, load_folds
from kaggletk.models import MODELS, Model
from kaggletk.models._device import resolve_device, resolve_precision
from kaggletk.params import ParamSpec, parse_params
from kaggletk.views import VIEWS, View, get_view
from kaggletk.workspace import Workspace, check_name, workspace


@dataclass(frozen=True)
class CvRequest:
    """What to cross-validate. Every field is checked by ``prepare``.

    Parameters
    ----------
    competition : str
        A folder under ``competitions/``.
    model : str
        A registered model (``kaggletk models`` lists them).
    view : str, optional
        Feature view; default the model's (or the view tuned params were found for).
    view_params : dict, optional
        Parameters of the view, e.g. ``{"n_components": 40}`` for ``pca``.
    params : str or dict, optional
        Overrides of the model's defaults: a dict, a JSON object, a JSON file path, or ``"tuned"``.
    n_folds, scheme : optional
        K and fold scheme (default: the competition's); each has its own saved folds.
    device : {"auto", "cpu", "gpu"}
    precision : {"auto", "float32", "bfloat16", "mixed_float16"}
        Compute precision of neural networks; ``auto`` (default): bfloat16 on CPUs with AVX-512-BF16 or AMX,
        float16 mixed precision on GPUs with tensor cores, float32 otherwise.
    data : {"auto", "full", "sample"}
    seed : int
        Seed of the models (fold ``i`` uses ``seed + i``); the folds have their own.
    name : str, optional
        Run name; default ``<model>-<view>[-tuned][-sample]``.
    save_models : bool
        Keep each fold's fitted model (its library's own format) and view state beside the fold,
        for ``kaggletk predict --images`` and ``kaggletk.predict(run, images)``; default True.
    pseudo_labels : str, optional
        A model run on the same folds: each fold also learns from the test images that run's model
        of the same fold predicted with at least ``pseudo_threshold`` (labelled by that model, which
        never saw the fold's held-out rows).
    pseudo_threshold : float
        The confidence a test prediction needs to become a pseudo-label (default 0.95).
    """

    competition: str
    model: str
    view: str | None = None
    view_params: dict[str, Any] = field(default_factory=dict)
    params: str | dict | None = None
    n_folds: int | None = None
    scheme: str | None = None
    device: str = "auto"
    precision: str = "auto"
    data: str = "auto"
    seed: int = 0
    name: str | None = None
    save_models: bool = True
    pseudo_labels: str | None = None
    pseudo_threshold: float = DEFAULT_THRESHOLD


@dataclass
class RunSetup:
    """A validated request: data, folds, model class, view, params, device; what every training command needs."""

    request: CvRequest
    dataset: Dataset
    folds: Folds
    model_cls: type[Model]
    view: str
    spec: ParamSpec
    params: dict[str, Any]  # validated overrides of the model's defaults
    device: str
    run_name: str
    pseudo: PseudoLabels | None = None  # per fold, the test rows and labels its training part gains

    @property
    def full_params(self) -> dict[str, Any]:
        return {**self.model_cls.default_params(), **self.params}

    def new_model(self, seed: int, params: dict[str, Any] | None = None) -> Model:
        return self.model_cls(self.params if params is None else params, n_classes=self.dataset.competition.n_classes,
                              device=self.request.device, seed=seed, precision=self.request.precision,
                              metric=self.dataset.competition.metric)

    def new_view(self) -> View:
        return get_view(self.view, **self.request.view_params)


def default_run_name(model: str, view: str, dataset: Dataset, param_source: str) -> str:
    name = f"{model}-{view}"
    if param_source == "tuned":
        name += "-tuned"
    if dataset.variant == "sample":
        name += "-sample"
    return name


def resolve_model_params(comp, model_cls: type[Model], params: dict[str, Any]) -> dict[str, Any]:
    """Validate user params for a model and apply the competition's augmentation rule (horizontal flips)."""
    params = dict(model_cls.check_params(params))
    if "hflip" in model_cls.default_params():
        if params.get("hflip") and not comp.hflip:
            raise KaggletkError(f"--params: hflip is not allowed for {comp.name} (a mirrored image can change class); remove it")
        params.setdefault("hflip", comp.hflip)
    return params


def prepare(request: CvRequest, ws: Workspace | None = None, callbacks: Sequence[Callback] = ()) -> RunSetup:
    """Validate a training request at the boundary: known model and view, typed params, device, saved folds."""
    ws = ws or workspace()
    model_cls = MODELS.get(request.model)
    device = resolve_device(request.device, request.model, model_cls.supports_gpu)
    resolve_precision(request.precision, device)  # an unknown or impossible precision fails before any data is read
    dataset = load_dataset(request.competition, request.data, ws, callbacks=callbacks)
    competition = dataset.competition
    spec = parse_params(request.params, request.competition, request.model, ws, variant=dataset.variant)
    view = request.view or spec.view or model_cls.default_view
    view_cls = VIEWS.get(view)
    if view_cls.kind != model_cls.accepts:
        fitting = [name for name, cls in VIEWS.items() if cls.kind == model_cls.accepts]
        raise KaggletkError(f"--view {view}: model {request.model} takes {model_cls.accepts} views ({', '.join(fitting)}); "
                            f"{view} is an {view_cls.kind} view")
    if view not in competition.offered_views():
        raise KaggletkError(f"--view {view}: competition {request.competition} offers {', '.join(competition.offered_views())}")
    get_view(view, **request.view_params)  # unknown view parameters fail here
    model_params = resolve_model_params(competition, model_cls, spec.params)
    folds = load_folds(dataset, scheme=request.scheme, n_splits=request.n_folds, ws=ws, callbacks=callbacks)
    run_name = check_name(request.name or default_run_name(request.model, view, dataset, spec.source), "run name")
    pseudo = None
    if request.pseudo_labels:
        pseudo = load_pseudo_labels(request.pseudo_labels, request.pseudo_threshold, dataset, folds, run_name, ws)
    return RunSetup(request, dataset, folds, model_cls, view, spec, model_params, device, run_name, pseudo)
