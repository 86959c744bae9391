"""Overhead: `kaggletk cv` against the same fold trained by hand with Keras/XGBoost directly.

    python bench/overhead.py [--quick] [--repeats 2]

For `xgb` (on PCA), `mlp` and `cnn` (few epochs), each approach runs in its own child process,
alternating, on the same cached data, the same saved fold and the same parameters; wall time and
peak RSS come from the kernel's accounting of each child (os.wait4). Targets: time ratio <= 1.05,
memory ratio <= 1.2, and equal held-out accuracy. Full data: fold 0 of Fashion-MNIST.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
MODELS = {  # few epochs for the nets: the overhead is per fold, not per epoch
    "xgb": {"n_estimators": 200},
    "mlp": {"epochs": 5},
    "cnn": {"epochs": 3, "tta": False},
}
# The views bench/_by_hand.py computes (xgb's default view is compact; the hand-written script does PCA).
VIEWS = {"xgb": "pca", "mlp": "pixels", "cnn": "image"}


def run_child(argv: list[str], env: dict) -> tuple[float, float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=ROOT)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(argv[:8])} failed with status {status}")
    return seconds, usage.ru_maxrss / 1024.0, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the bundled sample instead of the full data")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--models", default="xgb,mlp,cnn")
    args = parser.parse_args(argv)

    import numpy as np

    from kaggletk.cv import INNER_SHARE
    from kaggletk.data import load_dataset
    from kaggletk.folds import load_folds
    from kaggletk.models import get_model_class

    comp, data = "fashion_mnist", "sample" if args.quick else "full"
    dataset = load_dataset(comp, data)
    folds = load_folds(dataset)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    # The rows kaggletk's early stopping watches in fold 0; the script by hand stops on the same rows.
    stop_file = ROOT / "bench" / "results" / ".overhead-stop-rows.npy"
    np.save(stop_file, folds.inner_split(0, dataset.y, INNER_SHARE)[1])
    rows, records = [], []
    for model in args.models.split(","):
        cls = get_model_class(model)
        params = {**cls.default_params(), **MODELS[model]}
        if "hflip" in params:
            params["hflip"] = dataset.competition.hflip
        view = VIEWS[model]
        times = {"kaggletk": [], "hand": []}
        rss = {"kaggletk": [], "hand": []}
        accuracy = {}
        for _ in range(args.repeats):
            t, m, _ = run_child([sys.executable, "-m", "kaggletk", "cv", comp, "--model", model, "--view", view, "--fold", "0",
                                 "--data", data, "--name", f"overhead-{model}", "--overwrite", "--params", json.dumps(MODELS[model])],
                                env)
            times["kaggletk"].append(t)
            rss["kaggletk"].append(m)
            from kaggletk.store import load_run

            accuracy["kaggletk"] = load_run(comp, f"overhead-{model}").manifest.folds[0].scores["accuracy"]
            t, m, out = run_child([sys.executable, str(ROOT / "bench" / "_by_hand.py"), model, str(dataset.folder), str(folds.path),
                                   "0", json.dumps(params), str(stop_file)], env)
            times["hand"].append(t)
            rss["hand"].append(m)
            accuracy["hand"] = json.loads(out.strip().splitlines()[-1])["accuracy"]
        tk, th = statistics.median(times["kaggletk"]), statistics.median(times["hand"])
        mk, mh = statistics.median(rss["kaggletk"]), statistics.median(rss["hand"])
        record = {"model": model, "view": view, "params": MODELS[model], "seconds": times, "peak_rss_mb": rss,
                  "time_ratio": tk / th, "memory_ratio": mk / mh, "accuracy": accuracy}
        records.append(record)
        rows.append([model, view, tk, th, tk / th, mk, mh, mk / mh, accuracy["kaggletk"], accuracy["hand"]])
        print(f"{model}: time {tk:.1f}s vs {th:.1f}s (x{tk / th:.3f}), peak RSS {mk:.0f} vs {mh:.0f} MB (x{mk / mh:.3f}), "
              f"accuracy {accuracy['kaggletk']:.4f} vs {accuracy['hand']:.4f}", flush=True)
    table = markdown_table(["model", "view", "kaggletk s", "by hand s", "time ratio", "kaggletk MB", "by hand MB", "memory ratio",
                            "kaggletk acc", "by hand acc"], rows)
    table += (f"\n\nFold 0 of {comp} ({data} data, {dataset.n_train} train images), median of {args.repeats} alternating runs, "
              "each in its own process (wall time and peak RSS of the child). Targets: time <= 1.05, memory <= 1.2.")
    missed = [f"{r[0]} time x{r[4]:.2f}" for r in rows if r[4] > 1.05] + [f"{r[0]} memory x{r[7]:.2f}" for r in rows if r[7] > 1.2]
    verdict = ("targets met" if not missed else f"TARGET MISSED: {', '.join(missed)}"
               + (" (on the sample, where start-up dominates; the targets are for the full data)" if args.quick else ""))
    table += f"\n\n{verdict}."
    write_results("overhead" + ("-quick" if args.quick else ""), {"data": data, "models": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
