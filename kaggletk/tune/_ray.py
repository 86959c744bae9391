"""Tuning workers as Ray actors: N actors run the trials of one Optuna study against its storage.

A PostgreSQL (or MySQL) storage or a journal file is opened by each actor from its URL. A SQLite
storage is served to them by Optuna's gRPC storage proxy, which the driver starts beside the
SQLite file for the length of the call, so no database server is needed (the proxy listens on
127.0.0.1 when every Ray node is this machine, else on this node's address, without
authentication: keep such clusters on a private network, or use PostgreSQL). A counter actor
hands out one ticket per trial, so the study ends with exactly the asked number of trials however
fast each worker is; the driver reads the finished ones from the storage and reports each to the
observers as a local study does.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kaggletk.cv import RunSetup
from kaggletk.cv._ray import RayCluster, check_ray_options, first_line, open_shipment, task_resources
from kaggletk.data import Dataset
from kaggletk.errors import KaggletkError
from kaggletk.tune._objective import CvObjective
from kaggletk.tune._storage import open_storage
from kaggletk.tune._study import PRUNERS, Optimizer, TuneOptions


class RayOptimizer(Optimizer):
    """Trials on ``workers`` Ray actors, each asking for the resources its model needs (as a CV fold task does).

    Parameters
    ----------
    address : str, optional
        The cluster, as ``kaggletk.cv.RayExecutor`` takes it; default the running local one, or a new one.
    workers : int
        Actors running trials at once.
    gpus_per_task, cpus_per_task :
        As ``kaggletk.cv.RayExecutor`` takes them (see ``task_resources``), for each actor.

    A worker that dies (killed, out of memory) ends the call with an error; rerun the same command
    to continue the study (on PostgreSQL its trial is retried after two heartbeats; through the
    SQLite proxy, which has no heartbeat, it stays ``RUNNING`` and is not counted).
    """

    def __init__(self, address: str | None = None, *, workers: int = 2, gpus_per_task: float | None = None,
                 cpus_per_task: int = 1):
        if workers < 1:
            raise KaggletkError(f"--workers {workers}: must be at least 1")
        check_ray_options(gpus_per_task, cpus_per_task)
        self.address, self.workers, self.gpus_per_task, self.cpus_per_task = address, workers, gpus_per_task, cpus_per_task

    def optimize(self, study, objective: CvObjective, n_trials: int, options: TuneOptions, url: str,
                 on_trial: Callable[[Any, Any], None]) -> None:
        cluster = RayCluster(self.address)
        ray = cluster.ray
        resources = task_resources(objective.setup, cluster.gpus, self.gpus_per_task, self.cpus_per_task)
        shipped = cluster.ship(objective.setup)
        deadline = time.time() + options.timeout if options.timeout else None
        reported = {t.number for t in _finished_trials(study)}
        with _worker_storage(ray, url) as storage:
            tickets = ray.remote(num_cpus=0)(_Tickets).remote(n_trials)
            actor = ray.remote(_TuneWorker).options(num_cpus=resources.num_cpus, num_gpus=resources.num_gpus)
            seeds = [None if options.sampler_seed is None else options.sampler_seed + i for i in range(self.workers)]
            trials = _TrialSpec(objective.fold_ids, objective.seed, objective.base_params, study.study_name, options.pruner,
                                options.heartbeat_seconds)
            workers = [actor.remote(*shipped, resources.num_cpus, trials, storage, seed) for seed in seeds]
            try:
                runs = [worker.run.remote(tickets, deadline) for worker in workers]
                pending = runs
                while pending:
                    _, pending = ray.wait(pending, num_returns=len(pending), timeout=1.0)
                    reported |= _report(study, reported, on_trial)
                try:
                    ray.get(runs)
                except ray.exceptions.RayTaskError as exc:
                    raise exc.cause if isinstance(exc.cause, KaggletkError) else exc from None
                except ray.exceptions.RayError as exc:
                    raise KaggletkError(f"a Ray tuning worker was lost ({first_line(exc)}); rerun the same command to continue "
                                        f"study {study.study_name}") from None
            finally:
                for handle in [*workers, tickets]:
                    ray.kill(handle)
        _report(study, reported, on_trial)


def _finished_trials(study) -> list:
    import optuna

    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
    return study.get_trials(deepcopy=False, states=states)


def _report(study, reported: set[int], on_trial: Callable[[Any, Any], None]) -> set[int]:
    """Call ``on_trial`` for each finished trial not reported yet, in the order they finished; returns their numbers."""
    new = sorted((t for t in _finished_trials(study) if t.number not in reported), key=lambda t: t.datetime_complete)
    for trial in new:
        on_trial(study, trial)
    return {t.number for t in new}


@dataclass(frozen=True)
class _TrialSpec:
    """What a worker needs to run the study's trials as ``run_tune`` would: folds, seed, fixed params, study, pruner."""

    fold_ids: list[int]
    seed: int
    base_params: dict[str, Any]
    study_name: str
    pruner: str
    heartbeat_seconds: int


class _Tickets:
    """One ticket per trial still to run: however many workers ask, exactly that many trials start."""

    def __init__(self, n: int):
        self.left = n

    def take(self) -> bool:
        if self.left <= 0:
            return False
        self.left -= 1
        return True


class _TuneWorker:
    """A Ray actor running trials of one study: its objective built once, then one trial per ticket."""

    def __init__(self, hollow: RunSetup, dataset: Dataset, arrays, threads: int, trials: _TrialSpec, storage,
                 sampler_seed: int | None):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        setup, features, threads_params = open_shipment(hollow, dataset, arrays, threads)
        self.objective = CvObjective(setup, trials.fold_ids, trials.seed, {**trials.base_params, **threads_params})
        self.objective.features = features
        if isinstance(storage, str):
            storage = open_storage(storage, trials.heartbeat_seconds)
        self.study = optuna.load_study(study_name=trials.study_name, storage=storage,
                                       sampler=optuna.samplers.TPESampler(seed=sampler_seed), pruner=PRUNERS.get(trials.pruner)())

    def run(self, tickets, deadline: float | None) -> int:
        """Trials until the tickets or the time run out; returns how many this worker ran."""
        import ray

        ran = 0
        while (deadline is None or time.time() < deadline) and ray.get(tickets.take.remote()):
            self.study.optimize(self.objective, n_trials=1, gc_after_trial=True)
            ran += 1
        return ran


@contextlib.contextmanager
def _worker_storage(ray, url: str) -> Iterator[Any]:
    """What the workers open: the URL itself, or for SQLite a gRPC proxy of it that this process serves meanwhile."""
    if not url.startswith("sqlite"):
        yield url
        return
    from optuna.storages import GrpcStorageProxy

    here = ray.util.get_node_ip_address()
    host = "127.0.0.1" if {n["NodeManagerAddress"] for n in ray.nodes() if n["Alive"]} <= {here} else here
    with socket.socket() as probe:
        probe.bind((host, 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-c", "from kaggletk.tune._ray import serve_storage; serve_storage()", url, host,
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the gRPC proxy is "experimental" in Optuna
            proxy = GrpcStorageProxy(host=host, port=port)
        try:
            proxy.wait_server_ready(timeout=60)
            yield proxy
        except ConnectionError:
            server.kill()
            said = (server.communicate()[1] or "").strip().splitlines()
            raise KaggletkError(f"Optuna's gRPC storage proxy did not start on {host}:{port} ({said[-1] if said else 'no output'}); "
                                "use a PostgreSQL --storage") from None
        finally:
            proxy.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def serve_storage() -> None:
    """``python -c ... URL HOST PORT``: serve the Optuna storage at URL over gRPC until terminated."""
    import optuna

    url, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        optuna.storages.run_grpc_proxy_server(optuna.storages.get_storage(url), host=host, port=port)
