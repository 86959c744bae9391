"""``kaggletk new``: inspect a competition's files and write its ``competitions/<name>/competition.py``.

The files are read exactly as ``fetch`` reads them (so what ``new`` accepts, ``fetch`` accepts), and
what they tell is written down: the layout and files, the label column and label set, the ID
column, the sample submission (whose header, IDs and order submissions will follow), the image
shape, and a metric (Kaggle's, when a slug is given and the client reports it, else accuracy with
a comment to check it). What the files cannot tell (whether a mirrored image keeps its class, the
fold scheme) is written with its default and listed for the user to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kaggletk.competition import Competition
from kaggletk.errors import KaggletkError
from kaggletk.workspace import Workspace, check_name, workspace

# Kaggle's names for evaluation metrics -> kaggletk's (lower case, spaces and punctuation ignored).
_KAGGLE_METRICS = {
    "categorizationaccuracy": "accuracy", "accuracy": "accuracy", "accuracyscore": "accuracy",
    "multiclassloss": "log_loss", "logloss": "log_loss", "multiclasslogloss": "log_loss", "crossentropy": "log_loss",
    "meanfscore": "macro_f1", "macrof1": "macro_f1", "f1macro": "macro_f1", "macrofscore": "macro_f1",
    "weightedf1": "weighted_f1", "f1weighted": "weighted_f1",
}


@dataclass
class Inspection:
    """What a competition's files say about it."""

    name: str
    source: Path
    layout: str
    files: list[str]
    n_train: int
    n_test: int
    labels: list
    label_column: str | None
    test_id_column: str | None
    image_shape: tuple[int, int, int]
    sample_submission: str | None
    submission_header: str
    first_id: int | None
    has_holdout_labels: bool
    metric: str = "accuracy"
    metric_source: str = "default (check it on the competition's Evaluation page)"
    confirm: list[str] = field(default_factory=list)


def kaggle_metric(name: str | None) -> str | None:
    """kaggletk's metric for a Kaggle evaluation metric name, or None when kaggletk has no match."""
    if not name:
        return None
    return _KAGGLE_METRICS.get("".join(ch for ch in name.lower() if ch.isalnum()))


def inspect(name: str, source: Path, *, label_column: str | None = None, id_column: str | None = None) -> Inspection:
    """Read ``source`` as ``fetch`` would for a new competition called ``name``; describe what it holds."""
    from kaggletk.data.source import read_source

    source = Path(source)
    probe = Competition(name=name, title=name, label_column=label_column, test_id_column=id_column)
    raw = read_source(source, probe)
    h, w = raw.train_images.shape[1:3]
    c = raw.train_images.shape[3] if raw.train_images.ndim == 4 else 1
    labels = [v.item() if isinstance(v, np.generic) else str(v) for v in np.unique(raw.train_labels)]
    layout = raw.layout
    sample = raw.sample_submission
    header, first_id = "", None
    if sample is not None:
        from kaggletk.data._sample import read_sample_submission

        parsed = read_sample_submission(sample)
        header = parsed.header
        first = parsed.ids[0].strip()
        first_id = int(first) if first.lstrip("-").isdigit() else None
    test_id = None
    if layout == "csv":
        from kaggletk.data.csv import ID_COLUMNS, _header, find_column

        test_file = Path(raw.files[1])
        test_id = find_column(_header(test_file), id_column, ID_COLUMNS, test_file, "id")
    train_label = label_column
    if layout == "csv" and train_label is None:
        from kaggletk.data.csv import LABEL_COLUMNS, _header, find_column

        train_label = find_column(_header(Path(raw.files[0])), None, LABEL_COLUMNS, Path(raw.files[0]), "label")
    confirm = [
        "hflip=False: set it to True if a mirrored image keeps its class (clothes: yes; letters, digits, hand signs: no)",
        "fold_scheme='stratified': run `kaggletk folds " + name + " --check`; if it reports a LEAK (near-copies across "
        "folds), set fold_scheme='group'",
    ]
    if sample is None:
        confirm.append(f"no sample submission: submissions will be {probe.id_column},{probe.target_column} with IDs from "
                       + ("the test file's ID column" if test_id else f"{probe.first_id} in test order")
                       + "; set id_column, target_column and first_id to what the competition expects")
    return Inspection(name, source, layout, raw.files, len(raw.train_labels), len(raw.test_images), labels, train_label,
                      test_id, (h, w, c), str(sample) if sample else None, header or f"{probe.id_column},{probe.target_column}",
                      first_id, raw.test_labels is not None, confirm=confirm)


def render(inspection: Inspection, *, slug: str | None = None, title: str | None = None, data_dir: str | None = None) -> str:
    """The text of ``competition.py`` for an inspection."""
    i = inspection
    lines = [f'"""{title or i.name}: written by `kaggletk new` from {i.source} ({i.layout} layout, {i.n_train} training and '
             f'{i.n_test} test images of {i.image_shape[0]}x{i.image_shape[1]}{" RGB" if i.image_shape[2] == 3 else ""})."""',
             "", "from kaggletk.competition import Competition", "", "COMPETITION = Competition(",
             f"    name={i.name!r},", f"    title={(title or i.name)!r},",
             f"    # {len(i.labels)} classes, as the training labels spell them{' (text)' if isinstance(i.labels[0], str) else ''}",
             f"    labels={tuple(i.labels)!r},",
             "    # class_names=(...),  # one display name per label, for reports"]
    if i.label_column and i.label_column.lower() not in ("label", "labels", "class", "target", "y", "category"):
        lines.append(f"    label_column={i.label_column!r},")
    if i.test_id_column and i.test_id_column.lower() not in ("id", "imageid", "image_id", "img_id", "imgid", "image",
                                                             "filename", "file_name", "file"):
        lines.append(f"    test_id_column={i.test_id_column!r},")
    if i.sample_submission:
        lines.append(f"    # submissions follow the sample submission: header {i.submission_header!r}, its IDs and row order")
    if data_dir:
        lines.append(f"    data_dir={data_dir!r},  # `kaggletk fetch {i.name}` reads the files from here")
    lines.append(f"    kaggle_competition={slug!r},")
    lines.append(f"    metric={i.metric!r},  # {i.metric_source}")
    lines += ["    fold_scheme='stratified',  # check with `kaggletk folds " + i.name + " --check`; 'group' if it reports a leak",
              "    hflip=False,  # True only if a mirrored image keeps its class",
              ")", ""]
    return "\n".join(lines)


def new_competition(name: str, source: Path | None = None, *, slug: str | None = None, title: str | None = None,
                    label_column: str | None = None, id_column: str | None = None, ws: Workspace | None = None,
                    notify=None) -> tuple[Path, Inspection]:
    """Inspect the files (``source``, or the Kaggle competition ``slug`` downloaded first) and write ``competition.py``.

    Refuses to overwrite an existing competition folder.
    """
    ws = ws or workspace()
    check_name(name, "competition name")
    folder = ws.competition_dir(name)
    if folder.exists():
        raise KaggletkError(f"{folder}: already exists; choose another name or remove the folder (kaggletk never "
                            "overwrites a competition)")
    if source is None and slug is None:
        raise KaggletkError("kaggletk new: give --from DIR (the competition's files) or --competition SLUG (download them)")
    info = None
    if source is None:
        from kaggletk.kaggle import competition_info, download_files

        staging = folder / "data" / "download"
        staging.mkdir(parents=True)
        try:
            source = download_files(staging, competition=slug, origin="--competition", notify=notify)
            info = competition_info(slug, notify=notify)
        except BaseException:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            raise
    source = Path(source).resolve()
    try:
        inspection = inspect(name, source, label_column=label_column, id_column=id_column)
    except BaseException:
        if info is not None or slug is not None:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
        raise
    if info is not None:
        ours = kaggle_metric(info.evaluation_metric)
        if ours:
            inspection.metric, inspection.metric_source = ours, f"Kaggle's evaluation metric: {info.evaluation_metric}"
        elif info.evaluation_metric:
            inspection.metric_source = (f"Kaggle's evaluation metric is {info.evaluation_metric!r}, which kaggletk does not "
                                        "compute: accuracy is a stand-in, check it")
    data_dir = str(source.relative_to(folder.resolve())) if source.is_relative_to(folder.resolve()) else str(source)
    text = render(inspection, slug=slug, title=title or (info.title if info else None), data_dir=data_dir)
    from kaggletk._io import write_text

    write_text(folder / "competition.py", text)
    return folder / "competition.py", inspection
