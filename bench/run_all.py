"""Run every benchmark in order (`make bench`, or `make bench quick=1` for the few-minute version).

The full mode trains every adapter on both full data sets: about 5-7 hours on 2 CPU cores (the
Fashion CNN's five 21-minute folds dominate). Runs live in the OOF store, so an interrupted
`make bench` resumes where it stopped. Results: bench/results/*.json and *.md.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
QUICK_MODELS = "logreg:pca,lgbm:pca,xgb:pca,mlp:pixels"
SIGN_CNN = 'cnn={"epochs": 10}'  # Sign MNIST's CNN converges in 10 epochs; halves the longest step

FULL = [
    ["data.py"],
    ["accuracy.py", "fashion_mnist"],
    ["accuracy.py", "sign_mnist", "--params", SIGN_CNN],
    ["accuracy.py", "sign_mnist", "--scheme", "stratified", "--models", "xgb:pca,mlp:pixels,cnn:image", "--params", SIGN_CNN],
    ["leak.py"],
    ["blend.py", "fashion_mnist"],
    ["blend.py", "sign_mnist"],
    ["views.py", "fashion_mnist"],
    ["tune.py", "fashion_mnist", "--trials", "5"],
    ["overhead.py"],
    ["network_cost.py"],
    ["blend_cost.py", "fashion_mnist"],
    ["time_to_submission.py", "sign_mnist", "--install"],
]
QUICK = [
    ["accuracy.py", "fashion_mnist", "--quick", "--models", QUICK_MODELS],
    ["blend.py", "fashion_mnist", "--quick"],
    ["views.py", "fashion_mnist", "--quick"],
    ["tune.py", "fashion_mnist", "--quick", "--trials", "4"],
    ["overhead.py", "--quick", "--repeats", "1", "--models", "xgb,mlp"],
]


def main() -> int:
    steps = QUICK if "--quick" in sys.argv else FULL
    for step in steps:
        print(f"== bench/{' '.join(step)}", flush=True)
        status = subprocess.run([sys.executable, str(HERE / step[0]), *step[1:]]).returncode
        if status != 0:
            print(f"bench/{step[0]} failed with status {status}", file=sys.stderr)
            return status
    return 0


if __name__ == "__main__":
    sys.exit(main())
