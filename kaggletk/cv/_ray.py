"""Folds as Ray tasks: every missing fold of a grid of runs, trained concurrently on a Ray cluster.

The driver (this process) holds each run's lock and writes every file; a task trains "fold i of
run r" with ``fit_fold`` and returns its ``FoldOutcome`` without the fitted estimator (the store
keeps predictions, scores, timings, the history and where the fold ran). A data set's arrays, and
the features of its stateless views, go to Ray's object store once per data set, not per task.
Each task asks for what its model needs (``task_resources``) and runs the model's library with as
many threads as it holds CPUs; a task whose worker process dies is run again (``max_retries``).

Ray is an optional extra: it is imported here only, and only when a Ray executor or worker runs.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kaggletk.callbacks import Callback
from kaggletk.cv._executor import Executor, RunJob, fold_info
from kaggletk.cv._features import FoldFeatures
from kaggletk.cv._fold import FoldOutcome, fit_fold
from kaggletk.cv._request import RunSetup
from kaggletk.data import Dataset
from kaggletk.errors import KaggletkError
from kaggletk.models import Model
from kaggletk.views import View, stateless_features

RAY_EXTRA = "install the ray extra: pip install 'kaggletk[ray]'"
TENSORFLOW = "TensorFlow"
# What the store keeps of a fold's fitted model (``_write_fold``, the manifest): never the estimator itself.
_KEPT_STATE = ("history_", "best_iteration_", "device_", "precision_")


def import_ray():
    """The ``ray`` module, or a one-line error naming the extra to install."""
    try:
        import ray
    except ImportError:
        raise KaggletkError(f"--ray: {RAY_EXTRA}") from None
    return ray


def connect(address: str | None = None):
    """Ray, connected (once per process) and returned.

    Parameters
    ----------
    address : str, optional
        ``None``: the cluster in ``$RAY_ADDRESS`` or the one last started on this machine, else a
        new local one; ``"auto"``: a running cluster, or an error; ``"HOST:PORT"`` of a head
        node, or ``"ray://HOST:10001"`` (Ray Client).
    """
    ray = import_ray()
    if not ray.is_initialized():
        try:
            ray.init(address=address or None, log_to_driver=False, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError, ray.exceptions.RayError) as exc:
            raise KaggletkError(f"--ray {address or ''}: cannot connect ({first_line(exc)}); start a cluster with "
                                "`ray start --head`, or give --ray no address to start one on this machine") from None
    return ray


def check_ray_options(gpus_per_task: float | None, cpus_per_task: int) -> None:
    """Refuse bad task resources, and a missing ray extra, before any data is read."""
    if cpus_per_task < 1:
        raise KaggletkError(f"--cpus-per-task {cpus_per_task}: must be at least 1")
    if gpus_per_task is not None and not (0 <= gpus_per_task <= 1 or (gpus_per_task > 1 and float(gpus_per_task).is_integer())):
        raise KaggletkError(f"--gpus-per-task {gpus_per_task:g}: give a share of one GPU (0.5 lets two tasks share it) "
                            "or a whole number of GPUs")
    import_ray()


@dataclass(frozen=True)
class TaskResources:
    """What one task asks Ray for; the model's library runs ``num_cpus`` threads."""

    num_cpus: int
    num_gpus: float


def task_resources(setup: RunSetup, cluster_gpus: float, gpus_per_task: float | None = None,
                   cpus_per_task: int = 1) -> TaskResources:
    """The resources one fold (or tuning worker) of ``setup``'s model asks for.

    Parameters
    ----------
    cluster_gpus : float
        GPUs the Ray cluster has now.
    gpus_per_task : float, optional
        GPUs (or a share: 0.5 lets two tasks use one) for each task of a model that can use one,
        unless the request says ``--device cpu``. Default: 1 for a TensorFlow net when the cluster
        has GPUs, and for any GPU model on ``--device gpu``; none otherwise.
    cpus_per_task : int
        CPUs of a task whose params do not fix ``n_jobs`` to a positive count (which wins).
    """
    cls, device = setup.model_cls, setup.request.device
    if gpus_per_task is not None:
        gpus = gpus_per_task if cls.supports_gpu and device != "cpu" else 0.0
    else:
        wanted = device == "gpu" or (device == "auto" and cluster_gpus > 0 and cls.library == TENSORFLOW)
        gpus = 1.0 if cls.supports_gpu and wanted else 0.0
    n_jobs = setup.full_params.get("n_jobs")
    fixed = isinstance(n_jobs, int) and not isinstance(n_jobs, bool) and n_jobs > 0
    return TaskResources(n_jobs if fixed else cpus_per_task, float(gpus))


def _stateless_arrays(view: View, dataset: Dataset, callbacks: Sequence[Callback]):
    """(train, test) features of a stateless view, or its stateless parts by name: what ``FoldFeatures`` computes once."""
    if view.stateless:
        return stateless_features(view, dataset, callbacks), None
    return None, {key: stateless_features(part, dataset, callbacks) for key, part in view.stateless_parts().items()}


class _ShippedFeatures(FoldFeatures):
    """``FoldFeatures`` whose once-per-data-set arrays the driver computed and sent through the object store."""

    def __init__(self, view: View, dataset: Dataset, arrays):
        super().__init__(view, dataset)
        self._all, self._parts = arrays


class RayCluster:
    """A connection to Ray and what this process put in its object store: each data set and stateless view once.

    Parameters
    ----------
    address : str, optional
        As ``connect`` takes it.
    """

    def __init__(self, address: str | None = None):
        self.ray = connect(address)
        self._objects: dict[tuple, Any] = {}

    @property
    def gpus(self) -> float:
        """GPUs the cluster has now."""
        return float(self.ray.cluster_resources().get("GPU", 0))

    def placeable(self, resources: TaskResources) -> bool:
        """Whether a live node of the cluster has the CPUs and GPUs one task asks for."""
        return any(node["Alive"] and node["Resources"].get("CPU", 0) >= resources.num_cpus
                   and node["Resources"].get("GPU", 0) >= resources.num_gpus for node in self.ray.nodes())

    def _put(self, key: tuple, make) -> Any:
        if key not in self._objects:
            self._objects[key] = self.ray.put(make())
        return self._objects[key]

    def ship(self, setup: RunSetup, callbacks: Sequence[Callback] = ()) -> tuple[Any, Any, Any]:
        """Object refs of (the setup without its data, the data set, the view's stateless arrays), for ``open_shipment``."""
        dataset = setup.dataset
        data_key = (dataset.competition.name, dataset.variant, dataset.fingerprint)
        view = setup.new_view()
        view_key = (*data_key, view.name, json.dumps(view.get_params(), sort_keys=True, default=str))
        return (self.ray.put(dataclasses.replace(setup, dataset=None)),
                self._put(data_key, lambda: dataset),
                self._put(view_key, lambda: _stateless_arrays(view, dataset, callbacks)))


def open_shipment(hollow: RunSetup, dataset: Dataset, arrays, threads: int) -> tuple[RunSetup, FoldFeatures, dict[str, Any]]:
    """In a Ray worker: the setup and its features whole again, and the process set for one task.

    GPUs the task was not given are hidden, TensorFlow gets ``threads`` threads and GPU memory
    growth (so tasks can share a GPU), BLAS/OpenMP pools are limited to ``threads``.

    Returns
    -------
    (setup, features, threads_params): ``threads_params`` is ``{"n_jobs": threads}`` for a model
    with ``n_jobs`` (XGBoost, LightGBM, random forest), ``{}`` otherwise; put it over the params.
    """
    from threadpoolctl import threadpool_limits

    ray = import_ray()
    setup = dataclasses.replace(hollow, dataset=dataset)
    if not ray.get_gpu_ids():
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if setup.model_cls.library == TENSORFLOW:
        _configure_tensorflow(threads)
    threadpool_limits(threads)
    threads_params = {"n_jobs": threads} if "n_jobs" in setup.full_params else {}
    return setup, _ShippedFeatures(setup.new_view(), dataset, arrays), threads_params


def _configure_tensorflow(threads: int) -> None:
    """Threads and GPU memory growth; TensorFlow takes them only before it first runs, so such tasks get fresh workers."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    for gpu in tf.config.list_physical_devices("GPU"):
        tf.config.experimental.set_memory_growth(gpu, True)


def _placement() -> dict[str, str]:
    """Where this worker runs: its host, and the GPUs Ray gave it (``CUDA_VISIBLE_DEVICES``) when it has any."""
    where = {"host": platform.node()}
    if import_ray().get_gpu_ids():
        where["cuda_visible_devices"] = os.environ.get("CUDA_VISIBLE_DEVICES", "")
    return where


def _record(model: Model) -> Model:
    """The fitted model without its estimator (which need not pickle): constructor arguments and what the store keeps."""
    record = type(model)(**model.get_params())
    for name in _KEPT_STATE:
        if hasattr(model, name):
            setattr(record, name, getattr(model, name))
    return record


def _train_fold(hollow: RunSetup, dataset: Dataset, arrays, fold: int, threads: int) -> FoldOutcome:
    """The Ray task: train ``fold`` of the shipped run and return its outcome, with where it ran in ``extra``."""
    setup, features, threads_params = open_shipment(hollow, dataset, arrays, threads)
    outcome = fit_fold(setup, fold, features, params={**setup.params, **threads_params},
                       save_model=setup.request.save_models)
    outcome.model = _record(outcome.model)
    outcome.extra.update(_placement())
    return outcome


def _train_fold_alone(hollow: RunSetup, dataset: Dataset, arrays, fold: int, threads: int) -> FoldOutcome:
    """``_train_fold`` in a worker process of its own (TensorFlow's threads and GPU memory are set once per process)."""
    return _train_fold(hollow, dataset, arrays, fold, threads)


class RayExecutor(Executor):
    """Every missing fold of every open run as a Ray task, submitted at once; outcomes written as they return.

    Parameters
    ----------
    address : str, optional
        The cluster (see ``connect``); default the running local one, or a new one.
    gpus_per_task : float, optional
        GPUs for each task of a GPU-capable model (0.5: two tasks share a GPU); see ``task_resources``.
    cpus_per_task : int
        CPUs (and library threads) of a task whose params do not fix ``n_jobs``.
    max_retries : int
        Times Ray runs a task again after its worker process died (killed, out of memory, node lost).

    Errors of one fold (a diverged model) do not stop the others: every other fold is trained and
    written, then the first error is raised. Step events (epochs, rounds) stay in the workers, and
    native callbacks of a model's library cannot be sent to them.
    """

    def __init__(self, address: str | None = None, *, gpus_per_task: float | None = None, cpus_per_task: int = 1,
                 max_retries: int = 3):
        check_ray_options(gpus_per_task, cpus_per_task)
        self.address, self.gpus_per_task, self.cpus_per_task, self.max_retries = address, gpus_per_task, cpus_per_task, max_retries

    def run(self, jobs: Sequence[RunJob]) -> None:
        jobs = [job for job in jobs if job.folds]
        if not jobs:
            return
        for job in jobs:
            if any(not isinstance(c, Callback) for c in job.callbacks):
                raise KaggletkError("callbacks: native callbacks of a model's library cannot run in Ray tasks; "
                                    "pass kaggletk Callback objects only")
        cluster = RayCluster(self.address)
        ray = cluster.ray
        reused, alone = ray.remote(_train_fold), ray.remote(max_calls=1)(_train_fold_alone)
        pending: dict[Any, tuple[RunJob, int]] = {}
        errors: list[BaseException] = []
        try:
            for job in jobs:
                pending.update(self._submit(cluster, job, alone if job.setup.model_cls.library == TENSORFLOW else reused))
            while pending:
                [ready], _ = ray.wait(list(pending), num_returns=1)
                job, fold = pending.pop(ready)
                try:
                    outcome = ray.get(ready)
                except ray.exceptions.RayError as exc:
                    errors.append(_fold_error(ray, exc, job.setup, fold, self.max_retries))
                    continue
                job.on_done(outcome)
        except BaseException:
            for ref in pending:
                ray.cancel(ref)
            raise
        if errors:
            raise errors[0]

    def _submit(self, cluster: RayCluster, job: RunJob, remote) -> dict[Any, tuple[RunJob, int]]:
        setup, observers = job.setup, job.observers
        resources = task_resources(setup, cluster.gpus, self.gpus_per_task, self.cpus_per_task)
        if not cluster.placeable(resources):
            observers.on_note(f"{setup.run_name}: each task asks for {resources.num_cpus} CPU(s) and {resources.num_gpus:g} "
                              "GPU(s), more than any node of the Ray cluster has now; they wait for such a node "
                              "(lower --cpus-per-task or --gpus-per-task otherwise)")
        shipped = cluster.ship(setup, observers.callbacks)
        probe, submitted = setup.new_model(0), {}
        for fold in job.folds:
            ref = remote.options(num_cpus=resources.num_cpus, num_gpus=resources.num_gpus, max_retries=self.max_retries,
                                 name=f"kaggletk {setup.run_name} fold {fold}").remote(*shipped, fold, resources.num_cpus)
            submitted[ref] = (job, fold)
            observers.on_fold_begin(fold, fold_info(setup, fold, probe))
        return submitted


def _fold_error(ray, exc: BaseException, setup: RunSetup, fold: int, max_retries: int) -> BaseException:
    """What a failed task raises in the driver: a kaggletk error as the task raised it, a lost worker in one line."""
    if isinstance(exc, ray.exceptions.RayTaskError):
        cause = exc.cause
        return cause if isinstance(cause, KaggletkError) else exc
    return KaggletkError(f"{setup.run_name} fold {fold}: its Ray worker was lost {max_retries + 1} times ({first_line(exc)}); "
                         "see the worker logs (`ray logs`), and rerun the same command to train the missing folds")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (Ray's run to many lines), or its type's name."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
