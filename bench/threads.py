"""Threads on a shared machine: XGBoost and LightGBM with OpenMP's waiting threads spinning (active) or yielding (passive).

    python bench/threads.py [--repeats 3]

Each run trains the same model on the same rows in a fresh process, with the other core kept busy
by a second process (a user's laptop doing other things) and, as inside ``kaggletk cv``, after a
short Keras fit in the same process (TensorFlow's thread pool beside the library's). Runs of the
two policies alternate; the table gives the median wall time of each and their ratio. kaggletk sets
``OMP_WAIT_POLICY=PASSIVE`` (``kaggletk/_threads.py``) unless the user set it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

CHILD = """
import time, numpy as np
from kaggletk.data import load_dataset
from kaggletk.models import get_model_class
from kaggletk.views import get_view
d = load_dataset("fashion_mnist", "sample")
X = get_view("pixels").transform(d.train_images); y = d.y
get_model_class("mlp")({{"epochs": 1}}, n_classes=10, device="cpu").fit(X[:1000], y[:1000])
start = time.perf_counter()
get_model_class("{model}")({{"n_estimators": 60, "early_stopping_rounds": None}}, n_classes=10).fit(X, y)
print(time.perf_counter() - start)
"""


def run(model: str, policy: str) -> float:
    env = dict(os.environ, OMP_WAIT_POLICY=policy, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", CHILD.format(model=model)], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="xgb,lgbm")
    args = parser.parse_args(argv)
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    rows, records = [], []
    try:
        for model in args.models.split(","):
            times = {"ACTIVE": [], "PASSIVE": []}
            for _ in range(args.repeats):
                for policy in times:
                    times[policy].append(run(model, policy))
            active, passive = statistics.median(times["ACTIVE"]), statistics.median(times["PASSIVE"])
            records.append({"model": model, "seconds": times, "ratio_active_over_passive": active / passive})
            rows.append([model, active, passive, active / passive])
            print(f"{model}: active {active:.1f}s, passive {passive:.1f}s (x{active / passive:.2f})", flush=True)
    finally:
        burner.kill()
    table = markdown_table(["model", "OMP_WAIT_POLICY=active s", "passive s (kaggletk's default)", "active / passive"], rows)
    table += (f"\n\n60 rounds on the Fashion-MNIST sample's 3,000 images (784 pixels), no early stopping, n_jobs = the "
              f"process's cores, after a 1-epoch Keras fit in the same process, with a busy loop on the other core; median "
              f"of {args.repeats} alternating runs, each in a fresh process.")
    write_results("threads", {"models": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
