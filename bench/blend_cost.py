"""Blend cost: seconds per blend method on 20 runs x the full training set, side by side (issue 25, item 5).

    python bench/blend_cost.py [fashion_mnist] [--runs R1,R2,...] [--n-runs 20] [--repeats 3]

Times every registered blend method, beside the code they replaced: hill climbing that computed
the tie-breaking log loss for every candidate (now only for candidates tied on the metric; the
weights must be the same), hill climbing with its folds one after another and a fresh array per
candidate average (now one thread per core and one reused buffer; the weights and OOF must be the same), the stacker with float64 level-2 features (now float32) and with its folds
fitted one after another (now one thread per core; the models must be the same), on ``--n-runs`` runs of the competition's full
training set and its real folds. The runs' OOF and test probabilities come from ``--runs`` (real
runs, repeated with small Dirichlet noise so that the copies differ, as ``bench/blend.py`` does)
or, without it, are simulated for the real labels: each run's logits are its class signal plus
noise shared by every run (runs err on the same images) plus its own noise, scaled so that the runs
score about 83-94% and their mean about 91%, like the real Fashion ladder (84-94%, mean 92%). Each method runs ``--repeats`` times, methods
interleaved, so that the machine's load falls on all of them alike; the median is reported, with
the stacker's float64/float32 ratio from the same rounds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, noisy_copies, write_results  # noqa: E402


def simulated_runs(y: np.ndarray, n_runs: int, n_test: int, n_classes: int, seed: int = 0):
    """(R, n, C) OOF and (R, n_test, C) test probabilities of ``n_runs`` correlated runs for labels ``y``."""
    rng = np.random.default_rng(seed)

    def one_side(labels, shared):
        out = np.empty((n_runs, len(labels), n_classes), np.float32)
        for r in range(n_runs):
            strength = 5.6 + 1.4 * r / max(1, n_runs - 1)
            z = strength * np.eye(n_classes)[labels] + 2.0 * shared + rng.normal(0, 0.6, shared.shape)
            p = np.exp(z - z.max(axis=1, keepdims=True))
            out[r] = p / p.sum(axis=1, keepdims=True)
        return out

    y_test = rng.integers(0, n_classes, n_test)
    return (one_side(y, rng.normal(0, 1, (len(y), n_classes))),
            one_side(y_test, rng.normal(0, 1, (n_test, n_classes))))


def hill_climb_before(oof, y, metric=None, max_steps=50, patience=5):
    """kaggletk's hill climbing before it computed the tie-breaker only among ties (the reference for timing)."""
    from kaggletk.metrics import METRICS

    metric = metric or METRICS.get("accuracy")
    tie = METRICS.get("accuracy" if metric.name == "log_loss" else "log_loss")
    objective = lambda p: (metric.key(metric(y, p)), tie.key(tie(y, p)))  # noqa: E731
    n_runs = oof.shape[0]
    scores = [objective(oof[r]) for r in range(n_runs)]
    first = max(range(n_runs), key=lambda r: scores[r])
    counts = np.zeros(n_runs, dtype=np.int64)
    counts[first] = 1
    total = oof[first].astype(np.float64)
    best, best_counts, since_best = scores[first], counts.copy(), 0
    for step in range(1, max_steps):
        candidates = [objective((total + oof[r]) / (step + 1)) for r in range(n_runs)]
        pick = max(range(n_runs), key=lambda r: candidates[r])
        counts[pick] += 1
        total += oof[pick]
        if candidates[pick] > best:
            best, best_counts, since_best = candidates[pick], counts.copy(), 0
        else:
            since_best += 1
            if since_best >= patience:
                break
    return best_counts


def hill_climb_fresh_arrays(oof, y, metric=None, max_steps=50, patience=5):
    """kaggletk's hill climbing before it reused one buffer for the candidate averages (a fresh (n, C) array each)."""
    from kaggletk.blend.hill import climb

    return climb(oof, y, metric, max_steps, patience, lambda total, proba, step: (total + proba) / (step + 1))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("competition", nargs="?", default="fashion_mnist")
    parser.add_argument("--runs", help="real runs to take the probabilities from (default: simulated runs)")
    parser.add_argument("--n-runs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)

    from kaggletk.blend import BLEND_METHODS, BlendInput, make_method
    from kaggletk.blend.stack import StackBlend
    from kaggletk.data import load_dataset
    from kaggletk.folds import load_folds
    from kaggletk.metrics import get_metric
    from kaggletk.store import list_runs

    from kaggletk.blend.hill import HillClimbBlend

    class Float64Stack(StackBlend):
        feature_dtype = np.float64

    class SerialStack(StackBlend):
        n_jobs = 1

    class HillBefore(HillClimbBlend):
        climb = staticmethod(hill_climb_before)
        n_jobs = 1

    class SerialHill(HillClimbBlend):
        climb = staticmethod(hill_climb_fresh_arrays)
        n_jobs = 1

    dataset = load_dataset(args.competition, "full")
    folds = load_folds(dataset)
    n_classes = dataset.competition.n_classes
    if args.runs:
        runs = [r for r in list_runs(args.competition) if r.name in args.runs.split(",")]
        oof, test = noisy_copies(runs, args.n_runs)
        source = f"real runs {', '.join(r.name for r in runs)} (with Dirichlet noise)"
    else:
        oof, test = simulated_runs(np.asarray(dataset.y), args.n_runs, dataset.n_test, n_classes)
        source = "simulated runs (class signal + shared noise + own noise)"
    run_acc = [float(np.mean(o.argmax(axis=1) == dataset.y)) for o in oof]
    data_in = BlendInput([SimpleNamespace(name=f"run{i}") for i in range(args.n_runs)], oof, test, dataset.y, folds,
                         get_metric(dataset.competition.metric))
    methods = {m: (lambda m=m: make_method(m)) for m in BLEND_METHODS}
    methods["hill (tie-breaker for every candidate, before)"] = HillBefore
    methods["hill (folds one after another, fresh arrays, before)"] = SerialHill
    methods["stack (float64 features, before)"] = Float64Stack
    methods["stack (folds one after another, before)"] = SerialStack
    seconds: dict[str, list[float]] = {m: [] for m in methods}
    outputs = {}
    for round_ in range(args.repeats):
        for name, make in methods.items():
            start = time.perf_counter()
            outputs[name] = make().blend(data_in)
            seconds[name].append(time.perf_counter() - start)
            print(f"round {round_ + 1} {name}: {seconds[name][-1]:.2f} s", flush=True)
    rows, cost = [], {}
    for name, times in seconds.items():
        acc = float(np.mean(outputs[name].oof.argmax(axis=1) == dataset.y))
        cost[name] = {"seconds": times, "median_seconds": statistics.median(times), "oof_accuracy": acc}
        rows.append([name, statistics.median(times), min(times), max(times), acc])
    ratios = [b / a for a, b in zip(seconds["stack"], seconds["stack (float64 features, before)"])]
    hill_ratios = [b / a for a, b in zip(seconds["hill"], seconds["hill (tie-breaker for every candidate, before)"])]
    serial_ratios = [b / a for a, b in zip(seconds["stack"], seconds["stack (folds one after another, before)"])]
    hill_serial = "hill (folds one after another, fresh arrays, before)"
    hill_serial_ratios = [b / a for a, b in zip(seconds["hill"], seconds[hill_serial])]
    same_hill_serial = outputs["hill"].details == outputs[hill_serial].details and bool(
        np.array_equal(outputs["hill"].oof, outputs[hill_serial].oof))
    same_serial = bool(np.array_equal(outputs["stack"].oof, outputs["stack (folds one after another, before)"].oof))
    same_hill = outputs["hill"].details == outputs["hill (tie-breaker for every candidate, before)"].details
    diff = float(np.abs(outputs["stack"].oof - outputs["stack (float64 features, before)"].oof).max())
    table = markdown_table(["method", "median s", "min s", "max s", "OOF accuracy"], rows)
    table += (f"\n\n{args.n_runs} runs x {dataset.n_train:,} rows x {n_classes} classes, {folds.n_splits} folds; "
              f"{source}; run accuracies {min(run_acc):.3f}-{max(run_acc):.3f}. {args.repeats} rounds, methods interleaved. "
              f"Stack float64/float32 time ratio per round: {', '.join(f'{r:.2f}' for r in ratios)}; largest OOF "
              f"probability difference between the two: {diff:.1e}. Hill before/now time ratio per round: "
              f"{', '.join(f'{r:.2f}' for r in hill_ratios)}; same weights: {'yes' if same_hill else 'NO'}. "
              f"Hill serial-fresh/now time ratio per round: {', '.join(f'{r:.2f}' for r in hill_serial_ratios)}; "
              f"same weights and OOF: {'yes' if same_hill_serial else 'NO'}. "
              f"Stack serial/parallel folds time ratio per round: {', '.join(f'{r:.2f}' for r in serial_ratios)}; "
              f"identical OOF probabilities: {'yes' if same_serial else 'NO'}.")
    write_results(f"blend-cost-{args.competition}", {"source": source, "n_runs": args.n_runs, "run_accuracies": run_acc,
                                                      "cost": cost, "stack_float64_over_float32": ratios,
                                                      "stack_max_abs_diff": diff,
                                                      "hill_before_over_now": hill_ratios, "hill_same_weights": same_hill,
                                                      "stack_serial_over_parallel": serial_ratios,
                                                      "stack_serial_identical": same_serial,
                                                      "hill_serial_fresh_over_now": hill_serial_ratios,
                                                      "hill_serial_identical": same_hill_serial}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
