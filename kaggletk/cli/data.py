"""Commands about competitions and data: ``competitions``, ``fetch``, ``folds``."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from kaggletk.cli._common import add_command, add_data, out
from kaggletk.folds import FOLD_SCHEMES


def register(sub) -> None:
    p = add_command(sub, "competitions", _competitions, "list the competitions in competitions/",
                    "  kaggletk competitions")
    p = add_command(
        sub, "fetch", _fetch, "build the data cache of a competition",
        "  kaggletk fetch fashion_mnist --from ../shared/data/fashion_mnist\n"
        "  kaggletk fetch sign_mnist          # cache, $KAGGLETK_DATA_DIR, Debian folder, then Kaggle",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--from", dest="source", type=Path, metavar="PATH",
                   help="folder holding the data files (IDX, CSV, .h5 or .npz); rebuilds the cache from it")
    p = add_command(
        sub, "folds", _folds, "show (and create) the saved CV folds of a competition",
        "  kaggletk folds fashion_mnist\n  kaggletk folds sign_mnist --scheme group --check",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--scheme", choices=FOLD_SCHEMES.names(), help="fold scheme (default: the competition's)")
    p.add_argument("--folds", type=int, metavar="K", help="number of folds (default: the competition's)")
    add_data(p, "which data's folds: full, the bundled sample, or auto (full when available)")
    p.add_argument("--check", action="store_true",
                   help="leak report: nearest-neighbour similarity of train->train, held-out fold->training part and test->train")


def _competitions(args) -> int:
    from kaggletk.competition import list_competitions, load_competition
    from kaggletk.data.cache import read_cache

    table = Table("name", "title", "classes", "folds", "Kaggle source", "data cached")
    for name in list_competitions():
        comp = load_competition(name)
        cached = [v for v in ("full", "sample") if read_cache(comp, v) is not None]
        source = comp.kaggle_competition or comp.kaggle_dataset or "-"
        table.add_row(name, comp.title, str(comp.n_classes), f"{comp.n_folds} {comp.fold_scheme}", source,
                      ", ".join(cached) or "-")
    out.print(table)
    return 0


def _fetch(args) -> int:
    from kaggletk.data import fetch

    result = fetch(args.competition, args.source)
    d = result.dataset
    held = "with held-out test labels" if d.holdout_labels() is not None else "no test labels"
    how = "already cached" if result.from_cache else f"from {result.source}"
    out.print(f"{d.competition.name}: {d.n_train} train, {d.n_test} test images ({held}), {how}, "
              f"in {result.seconds:.1f}s -> {d.folder}")
    return 0


def _folds(args) -> int:
    import numpy as np

    from kaggletk.cli._common import Notes
    from kaggletk.data import load_dataset
    from kaggletk.folds import load_folds

    dataset = load_dataset(args.competition, args.data, callbacks=[Notes()])
    folds = load_folds(dataset, args.scheme, args.folds)
    y = dataset.y
    table = Table("fold", "rows", "classes min/max share", title=f"{args.competition} {folds.scheme} folds, hash {folds.hash}")
    for fold in range(folds.n_splits):
        _, held = folds.split(fold)
        share = np.bincount(y[held], minlength=dataset.competition.n_classes) / max(1, len(held))
        table.add_row(str(fold), str(len(held)), f"{share.min():.3f} / {share.max():.3f}")
    out.print(table)
    out.print(f"saved: {folds.path}")
    if args.check:
        from kaggletk.folds.leak import leak_report

        report = leak_report(dataset, folds)
        out.print(report.text)
        out.print(f"report: {report.text_path}\nhistogram: {report.png_path}")
    return 0
