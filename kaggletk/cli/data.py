"""Commands about competitions and data: ``competitions``, ``fetch``, ``folds``."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from kaggletk.cli._common import add_command, add_data, add_output, emit_records, err, out
from kaggletk.errors import KaggletkError
from kaggletk.cli._tables import Col, fitted_table, print_table
from kaggletk.folds import FOLD_SCHEMES


def register(sub) -> None:
    p = add_command(
        sub, "new", _new, "inspect a competition's files and write competitions/NAME/competition.py",
        "  kaggletk new digits --from ~/Downloads/digit-recognizer      # the files Kaggle gave you\n"
        "  kaggletk new digits --competition digit-recognizer          # download them first (Kaggle credentials)\n"
        "  kaggletk new shapes --from data/shapes --label-column kind  # a label column with an unusual name",
    )
    p.add_argument("name", metavar="NAME", help="the competition's folder name under competitions/")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--from", dest="source", type=Path, metavar="DIR", help="folder holding the competition's files")
    source.add_argument("--competition", "-c", dest="slug", metavar="SLUG", help="Kaggle competition to download and inspect")
    p.add_argument("--title", help="a display title (default: Kaggle's, or the name)")
    p.add_argument("--label-column", metavar="COL", help="the training label column, when it is not label/class/target/...")
    p.add_argument("--id-column", metavar="COL", help="the test files' ID column, when it is not id/ImageId/...")

    p = add_command(sub, "competitions", _competitions, "list the competitions in competitions/",
                    "  kaggletk competitions\n  kaggletk competitions --json")
    add_output(p)
    p = add_command(
        sub, "fetch", _fetch, "build the data cache of a competition",
        "  kaggletk fetch fashion_mnist --from ../shared/data/fashion_mnist\n"
        "  kaggletk fetch sign_mnist          # cache, $KAGGLETK_DATA_DIR, Debian folder, then Kaggle",
    )
    p.add_argument("competition", metavar="COMP")
    p.add_argument("--from", dest="source", type=Path, metavar="PATH",
                   help="folder holding the data files (IDX, CSV, image folders, .h5 or .npz); rebuilds the cache from it")
    p.add_argument("-c", "--competition", dest="slug", metavar="SLUG",
                   help="Kaggle competition to download from (default: $KAGGLETK_COMPETITION, else kaggle_competition)")
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


def _new(args) -> int:
    from kaggletk.cli._common import note
    from kaggletk.scaffold import new_competition

    path, i = new_competition(args.name, args.source, slug=args.slug, title=args.title, label_column=args.label_column,
                              id_column=args.id_column, notify=note)
    shape = f"{i.image_shape[0]}x{i.image_shape[1]}" + (" RGB" if i.image_shape[2] == 3 else " grayscale")
    shown = ", ".join(map(str, i.labels[:12])) + (", ..." if len(i.labels) > 12 else "")
    out.print(f"wrote {path}")
    out.print(f"  layout: {i.layout} ({', '.join(Path(f).name for f in i.files)})")
    out.print(f"  {i.n_train} training images, {i.n_test} test images, {shape}"
              + ("; the test set has labels (held out, for local scoring)" if i.has_holdout_labels else
                 "; no held-out test labels: submit to score"))
    out.print(f"  labels ({len(i.labels)}, column {i.label_column or 'from the labels CSV'}): {shown}")
    out.print(f"  submission: {i.submission_header}" + (" (from the sample submission: its IDs and order)"
                                                       if i.sample_submission else ""))
    out.print(f"  metric: {i.metric} ({i.metric_source})")
    out.print("check before you train:")
    for item in i.confirm:
        out.print(f"  - {item}")
    out.print(f"next: kaggletk fetch {args.name} && kaggletk folds {args.name} --check && kaggletk cv {args.name} --model default")
    return 0


def _competitions(args) -> int:
    from kaggletk._io import read_json
    from kaggletk.competition import list_competitions, load_competition
    from kaggletk.data.cache import cache_dir

    cols = [Col("name", 0, "left"), Col("title", 3, "left"), Col("classes", 1), Col("folds", 2, "left"), Col("metric", 1, "left"),
            Col("Kaggle source", 4, "left", key="kaggle_source"), Col("data cached", 1, "left", key="data_cached")]
    records, broken = [], []
    for name in list_competitions():
        try:
            comp = load_competition(name)
        except KaggletkError as exc:  # one broken competition.py does not hide the others
            broken.append(str(exc))
            records.append({"name": name, "title": "(cannot be loaded: see below)"})
            continue
        manifests = {v: cache_dir(name, v) / "manifest.json" for v in ("full", "sample")}
        cached = [v for v, path in manifests.items() if path.exists()]
        labels = comp.labels or next((read_json(manifests[v]).get("labels") for v in cached), None)
        source = comp.kaggle_competition or comp.kaggle_dataset or "-"
        records.append({"name": name, "title": comp.title, "classes": len(labels) if labels else None,
                        "folds": f"{comp.n_folds} {comp.fold_scheme}", "metric": comp.metric, "kaggle_source": source,
                        "data_cached": ", ".join(cached) or "-"})
    if not emit_records(args, cols, records):
        print_table(out, fitted_table(cols, [[r.get(c.key or c.header) for c in cols] for r in records], width=out.width,
                                      wide=args.wide), args.wide)
    for message in broken:
        err.print(f"kaggletk: warning: {message}")
    return 0


def _fetch(args) -> int:
    from kaggletk.cli._common import Notes
    from kaggletk.cli.kaggle import DownloadProgress
    from kaggletk.data import fetch

    with DownloadProgress() as bar:
        result = fetch(args.competition, args.source, competition=args.slug, callbacks=[Notes(), bar])
    d = result.dataset
    held = "with held-out test labels" if d.holdout_labels() is not None else "no held-out labels: submit to score"
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
    folds = load_folds(dataset, args.scheme, args.folds, callbacks=[Notes()])
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

        report = leak_report(dataset, folds, callbacks=[Notes()])
        out.print(report.text)
        out.print(f"report: {report.text_path}\nhistogram: {report.png_path}")
    return 0
