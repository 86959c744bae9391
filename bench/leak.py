"""Leak: CV against test for random (stratified) versus group folds on Sign MNIST, side by side.

    python bench/leak.py [--models xgb:pca,mlp:pixels,cnn:image]

Needs the runs made by `bench/accuracy.py sign_mnist` (group folds, the default) and
`bench/accuracy.py sign_mnist --scheme stratified`. Prints each model's CV, test and gap under both
schemes, then stacks each scheme's OOF predictions (nested logistic regression) and compares the
two stackers on the test set. Target: |CV - test| <= 1.5 points with group folds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table, write_results  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="xgb:pca,mlp:pixels,cnn:image")
    args = parser.parse_args(argv)

    from kaggletk.blend import run_blend
    from kaggletk.data import load_dataset
    from kaggletk.store import fold_models_test_scores, load_run

    comp = "sign_mnist"
    dataset = load_dataset(comp, "full")
    rows, records = [], []
    schemes = {"stratified (random)": "-stratified", "group": ""}
    names = {scheme: [] for scheme in schemes}
    for spec in args.models.split(","):
        model, _, view = spec.partition(":")
        row = [model]
        for scheme, suffix in schemes.items():
            run = load_run(comp, f"bench-{model}-{view}{suffix}")
            names[scheme].append(run.name)
            cv, test = run.manifest.cv.mean["accuracy"], run.manifest.test.scores["accuracy"]
            single = fold_models_test_scores(run, dataset).fold_models_mean("accuracy")
            row += [cv, single, cv - single, test]
            records.append({"model": model, "scheme": scheme, "run": run.name, "cv": cv, "test_fold_average": test,
                            "test_single_fold_models": single, "gap": cv - single, "fold_hash": run.fold_hash,
                            "early_stopping": run.manifest.early_stopping})
        rows.append(row)
    stack_rows = []
    stacks = {}
    for scheme, suffix in schemes.items():
        result = run_blend(comp, names[scheme], method="stack", name=f"leak-stack{suffix or '-group'}", data="full")
        m = result.run.manifest
        cv, test, weights = m.cv.oof["accuracy"], m.test.scores["accuracy"], m.blend.details.get("weights") or {}
        stacks[scheme] = {"cv": cv, "test": test, "weights": weights}
        stack_rows.append([scheme, cv, test, cv - test, ", ".join(f"{k} {v:.2f}" for k, v in weights.items())])
    table = markdown_table(["model", "random CV", "random test (single)", "random gap", "random test (avg)",
                            "group CV", "group test (single)", "group gap", "group test (avg)"], rows)
    table += ("\n\nCV: mean accuracy of the fold models on their held-out folds. test (single): the same fold models' mean "
              "accuracy on the test set, the like-for-like figure; gap = CV - test (single). test (avg): the average of the "
              "fold models, as submitted.")
    stopped_on_held_out = [r["run"] for r in records if r["early_stopping"] == "held-out"]
    if stopped_on_held_out:
        table += f" Runs whose early stopping watched the held-out fold (older default): {', '.join(stopped_on_held_out)}."
    table += "\n\n## Stacker trained on each scheme's OOF predictions\n\n"
    table += markdown_table(["folds", "stacker CV", "stacker test", "gap", "weight on each run"], stack_rows)
    write_results("leak-sign_mnist", {"runs": records, "stackers": stacks}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
