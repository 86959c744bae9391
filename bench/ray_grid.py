"""Ray grid: wall time of a grid of single-threaded models x folds, serial in this process vs on a local Ray cluster.

    python bench/ray_grid.py [--quick] [--workers 2] [--trees 50]

The grid is logistic regression and a random forest (``n_jobs`` 1), both on the PCA view, over the
5 saved folds of Fashion-MNIST (full data; ``--quick``: the bundled sample). The same requests run
through ``run_grid`` twice in one process, one after the other: serially, then with a
``RayExecutor`` on a local cluster of ``--workers`` CPUs (one task per CPU). Ray's start-up is
timed apart from the grid. Both OOF matrices are compared. Target: a ratio near the worker count
on an idle machine. Other work on the same cores takes from both workers, so each half also
records the load average (1 minute) before it and its folds' own seconds (features, fit, predict),
summed: that sum over the grid's wall time is how many folds ran at once, and a fold slower on Ray
than serially got less than a core.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # one node: Ray's addresses stay on 127.0.0.1
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")  # single-threaded models, serial and on Ray alike

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402


def _grid(data: str, trees: int, tag: str):
    from kaggletk.cv import CvRequest

    return [CvRequest("fashion_mnist", "logreg", view="pca", data=data, name=f"ray-grid-{tag}-logreg"),
            CvRequest("fashion_mnist", "rf", view="pca", data=data, params={"n_estimators": trees, "n_jobs": 1},
                      name=f"ray-grid-{tag}-rf")]


def _fold_seconds(results) -> float:
    """Seconds the grid's folds took themselves (features, fit, predict), summed over every fold of every run."""
    return sum(e.features_seconds + e.fit_seconds + e.predict_seconds for r in results for e in r.run.manifest.folds.values())


def _timed(requests, executor) -> tuple[float, list]:
    from kaggletk.cv import run_grid

    start = time.perf_counter()
    results = run_grid(requests, overwrite=True, executor=executor)
    return time.perf_counter() - start, results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the bundled sample instead of the full data")
    parser.add_argument("--workers", type=int, default=2, help="CPUs of the local Ray cluster (default 2)")
    parser.add_argument("--trees", type=int, default=50, help="trees of the random forest (default 50)")
    args = parser.parse_args(argv)

    import numpy as np
    import ray

    from kaggletk.cv import RayExecutor

    data = "sample" if args.quick else "full"
    load_serial = os.getloadavg()[0]
    serial_seconds, serial = _timed(_grid(data, args.trees, "serial"), None)
    load_ray = os.getloadavg()[0]
    start = time.perf_counter()
    ray.init(num_cpus=args.workers, include_dashboard=False, log_to_driver=False)
    startup = time.perf_counter() - start
    ray_seconds, on_ray = _timed(_grid(data, args.trees, "ray"), RayExecutor(cpus_per_task=1))
    ray.shutdown()
    diff = max(float(np.abs(a.run.oof() - b.run.oof()).max()) for a, b in zip(serial, on_ray))
    n_tasks = sum(len(r.ran_folds) for r in on_ray)
    serial_folds, ray_folds = _fold_seconds(serial), _fold_seconds(on_ray)
    rows = [["serial (this process)", 1, n_tasks, serial_seconds, None, 1.0, load_serial, serial_folds,
             serial_folds / serial_seconds],
            [f"Ray, {args.workers} workers", args.workers, n_tasks, ray_seconds, startup, serial_seconds / ray_seconds, load_ray,
             ray_folds, ray_folds / ray_seconds]]
    table = markdown_table(["executor", "workers", "fold tasks", "grid wall s", "Ray start-up s", "speed-up (serial / this)",
                            "load average before", "folds' own s (sum)", "folds at once"], rows)
    table += (f"\n\nGrid: logreg and rf ({args.trees} trees, n_jobs 1) on the PCA view, 5 folds, {data} data; both in one "
              f"process, serial first. Largest OOF difference between the two: {diff:.2e}.")
    payload = {"data": data, "workers": args.workers, "trees": args.trees, "fold_tasks": n_tasks,
               "serial_seconds": serial_seconds, "ray_seconds": ray_seconds, "ray_startup_seconds": startup,
               "speedup": serial_seconds / ray_seconds, "max_oof_difference": diff,
               "load_average_before_serial": load_serial, "load_average_before_ray": load_ray,
               "serial_fold_seconds": serial_folds, "ray_fold_seconds": ray_folds}
    write_results("ray-grid" + ("-quick" if args.quick else ""), payload, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
