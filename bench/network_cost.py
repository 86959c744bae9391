"""Network cost: seconds per training step of the Keras image networks on this machine, and what a CV costs.

    python bench/network_cost.py [--steps 5] [--precisions float32,bfloat16]

Builds each network as its adapter does for the competition (seeded, deterministic ops,
augmentation layers and Fashion's horizontal flips included), trains it on batches of real
Fashion-MNIST images and prints seconds per 128-image step, minutes per epoch on a fold's training
part (48,000 images; 43,200 of them when early stopping holds a tenth out) and hours for 5 folds at
the adapter's default epochs. It answers "can this machine train a ResNet-class network for the
95.5% Fashion target?" without training one for a day. With several ``--precisions`` each network
is timed in each precision in turn, interleaved, so the ratio is measured under the same load.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402

NETWORKS = [
    ("cnn", {}),
    ("resnet", {"widths": [16, 32, 64], "blocks": 3}),  # ResNet-20's shape
    ("resnet", {"widths": [32, 64, 128, 256]}),
    ("resnet", {}),
]
FOLD_ROWS, FOLDS, BATCH = 48_000, 5, 128


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per network, after one warm-up step")
    parser.add_argument("--precisions", default="float32",
                        help="comma-separated compute precisions to compare (float32, bfloat16); default float32")
    args = parser.parse_args(argv)
    precisions = [p.strip() for p in args.precisions.split(",") if p.strip()]
    if unknown := sorted(set(precisions) - {"float32", "bfloat16"}):
        parser.error(f"--precisions: unknown {', '.join(unknown)}; use float32, bfloat16")

    import numpy as np

    from kaggletk.data import load_dataset
    from kaggletk.models import get_model_class
    from kaggletk.models._device import cpu_supports_bfloat16
    from kaggletk.models._keras import dtype_policy, import_keras
    from kaggletk.views import get_view

    keras = import_keras()
    dataset = load_dataset("fashion_mnist", "auto")
    X = get_view("image").transform(dataset.train_images[:BATCH])
    y = dataset.y[:BATCH].astype(np.int32)
    rows, records = [], []
    for (name, params), precision in itertools.product(NETWORKS, precisions):
        adapter = get_model_class(name)({**params, "hflip": dataset.competition.hflip}, n_classes=10, device="cpu", seed=0)
        adapter.n_classes_ = 10  # what fit sets before it builds the network
        keras.utils.set_random_seed(0)
        with dtype_policy(keras, precision):
            net = adapter.build(keras, X.shape[1:])
        net.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
        net.train_on_batch(X, y)
        start = time.perf_counter()
        for _ in range(args.steps):
            net.train_on_batch(X, y)
        step = (time.perf_counter() - start) / args.steps
        epochs = int(adapter.resolved_params()["epochs"])
        epoch_minutes = step * FOLD_ROWS / BATCH / 60
        cv_hours = epoch_minutes * epochs * FOLDS / 60
        label = name + (f" {params}" if params else "")
        base = next((r["seconds_per_step"] for r in records if r["network"] == name and r["params"] == params), step)
        records.append({"network": name, "params": params, "precision": precision, "parameters": int(net.count_params()),
                        "seconds_per_step": step, "minutes_per_epoch": epoch_minutes, "epochs": epochs, "cv_hours": cv_hours,
                        "speedup": base / step})
        rows.append([label, precision, f"{net.count_params() / 1e6:.2f}M", step, f"{base / step:.2f}x", epoch_minutes, epochs,
                     cv_hours])
        print(f"{label} {precision}: {step:.3f} s per step, {epoch_minutes:.1f} min per epoch, {cv_hours:.1f} h for {FOLDS} folds x {epochs} epochs",
              flush=True)
    table = markdown_table(["network", "precision", "parameters", "s/step (128 images)", "speed-up", "min/epoch (48,000)",
                            "default epochs",
                            f"hours for {FOLDS} folds"], rows)
    table += (f"\n\nTraining steps on real Fashion-MNIST images ({dataset.variant} data), batch {BATCH}, the mean of "
              f"{args.steps} steps after a warm-up; an epoch is a fold's training part of {FOLD_ROWS:,} images. "
              "Early stopping can end a run sooner; test-time augmentation and validation add to it. Speed-up: against the "
              f"network's first precision in this run. This CPU computes bfloat16 natively: {cpu_supports_bfloat16()}.")
    write_results("network-cost", {"networks": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
