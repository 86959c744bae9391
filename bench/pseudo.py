"""Pseudo-labelling: a second round against the first, on the same folds, seeds and schedule.

    python bench/pseudo.py [--comp fashion_mnist] [--model cnn] [--params JSON] [--folds 0] [--threshold 0.95]

Round one is `kaggletk cv COMP --model M --params P --name pl-round1` on the given folds; round two
the same with `--pseudo-labels pl-round1`. Both resume (kill and rerun: finished folds and epochs are
kept). Per fold it prints held-out accuracy (the CV figure), the fold model's own test accuracy, the
test rows round two added and the share of them whose pseudo-label is right (held-out test labels
score, never train), and training seconds. The gains on CV and on test are reported separately.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--comp", default="fashion_mnist")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--params", default='{"epochs": 10, "patience": null}')
    parser.add_argument("--folds", default="0", help="comma-separated fold numbers (default 0)")
    parser.add_argument("--threshold", type=float, default=0.95)
    parser.add_argument("--data", default="full")
    parser.add_argument("--names", default="pl-round1,pl-round2", help="the two runs' names")
    args = parser.parse_args(argv)

    from kaggletk.cli.progress import RichProgress
    from kaggletk.cv import CvRequest, run_cv
    from kaggletk.data import load_dataset
    from kaggletk.errors import KaggletkError

    try:
        folds = [int(f) for f in args.folds.split(",")]
        params = json.loads(args.params)
    except ValueError as exc:
        print(f"pseudo.py: --folds is comma-separated integers and --params a JSON object ({exc})", file=sys.stderr)
        return 2
    first, second = args.names.split(",")
    base = dict(params=params, data=args.data)
    try:
        runs = {}
        for name, extra in ((first, {}), (second, {"pseudo_labels": first, "pseudo_threshold": args.threshold})):
            request = CvRequest(args.comp, args.model, name=name, **base, **extra)
            for fold in folds:
                with RichProgress(args.model) as progress:
                    runs[name] = run_cv(request, fold=fold, callbacks=[progress]).run
    except KaggletkError as exc:
        print(exc, file=sys.stderr)
        return 2
    dataset = load_dataset(args.comp, args.data)
    holdout = dataset.competition.to_index(dataset.holdout_labels())
    rows, records = [], []
    for fold in folds:
        one, two = (runs[n].fold(fold) for n in (first, second))
        entry1, entry2 = runs[first].manifest.folds[fold], runs[second].manifest.folds[fold]
        pseudo = entry2.extra["pseudo"]
        source = one["test"]
        confident = source.max(axis=1) >= args.threshold
        label_accuracy = float((source[confident].argmax(axis=1) == holdout[confident]).mean())
        record = {"fold": fold, "round1_cv": entry1.scores["accuracy"], "round2_cv": entry2.scores["accuracy"],
                  "round1_test": float((one["test"].argmax(1) == holdout).mean()),
                  "round2_test": float((two["test"].argmax(1) == holdout).mean()),
                  "pseudo_rows": pseudo["rows"], "pseudo_label_accuracy": label_accuracy,
                  "round1_fit_seconds": entry1.fit_seconds, "round2_fit_seconds": entry2.fit_seconds}
        records.append(record)
        rows.append([fold, record["round1_cv"], record["round2_cv"], record["round2_cv"] - record["round1_cv"],
                     record["round1_test"], record["round2_test"], record["round2_test"] - record["round1_test"],
                     pseudo["rows"], label_accuracy, entry1.fit_seconds, entry2.fit_seconds])
    table = markdown_table(["fold", "CV round 1", "CV round 2", "CV gain", "test round 1", "test round 2", "test gain",
                            "pseudo rows", "their label accuracy", "fit s round 1", "fit s round 2"], rows)
    table += (f"\n\n{args.model} with {json.dumps(params)}, same seeds; round two adds the test images its source fold model "
              f"predicted with p >= {args.threshold}. CV: the fold model's held-out accuracy. test: the same fold model's "
              "accuracy on the test set (one model, not the fold average). Label accuracy uses the held-out test labels "
              "to report only; nothing trains or is chosen on them.")
    write_results(f"pseudo-{args.comp}", {"model": args.model, "params": params, "threshold": args.threshold,
                                          "runs": [first, second], "folds": records}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
