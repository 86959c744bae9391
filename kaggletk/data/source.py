"""Read a competition's data from a source folder, whatever layout and format it is in.

Layouts are tried in order: a bundle (HDF5/``.npz``), IDX files, image folders, CSV files. Beside
any of them, the competition's own sample submission decides which test rows a submission lists,
in which order, under which IDs; a solution file (``id,label``) gives held-out test labels.
"""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np

from kaggletk.competition import Competition
from kaggletk.data._base import RawData, as_images, as_labels, check_ids, check_same_length
from kaggletk.data._sample import id_key, read_sample_submission
from kaggletk.data.bundle import read_bundle
from kaggletk.data.csv import read_csv, read_labels_csv
from kaggletk.data.folder import EXTENSIONS, image_files, image_ids, read_images, strip_extension
from kaggletk.data.idx import idx_shape, read_idx
from kaggletk.errors import KaggletkError

_MAX_DEPTH = 3


def _candidates(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if len(rel.parts) > _MAX_DEPTH or any(p.startswith(".") or p == "__MACOSX" for p in rel.parts):
            continue
        if path.is_file() and path.suffix.lower() not in EXTENSIONS:  # images belong to the folder layout
            files.append(path)
    return files


def _match(files: list[Path], patterns: tuple[str, ...]) -> list[Path]:
    return [f for f in files if any(fnmatch.fnmatch(f.name.lower(), p.lower()) for p in patterns)]


def _one(files: list[Path], patterns: tuple[str, ...], folder: Path, role: str) -> Path | None:
    found = _match(files, patterns)
    if len(found) > 1:
        names = ", ".join(str(f.relative_to(folder)) for f in found)
        raise KaggletkError(f"{folder}: several files could be the {role} ({names}); keep one or point --from at a folder holding one")
    return found[0] if found else None


def _image_dir(folder: Path, names: tuple[str, ...]) -> Path | None:
    for candidate in sorted(folder.rglob("*")):
        rel = candidate.relative_to(folder)
        if candidate.is_dir() and len(rel.parts) <= _MAX_DEPTH and candidate.name.lower() in names and image_files(candidate):
            return candidate
    return None


def read_source(folder: Path, comp: Competition) -> RawData:
    """Read train and test data for ``comp`` from ``folder`` (searched a few levels deep).

    Every array is validated: images become uint8 (n, h, w) or (n, h, w, c); labels are kept as the
    data spells them (and must be in ``comp.labels`` when it declares them); test rows are put in
    the sample submission's order with its IDs.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise KaggletkError(f"{folder}: not a folder; --from needs the folder holding the data files")
    spec = comp.data_files
    files = _candidates(folder)
    sample = _one(files, spec.sample_submission, folder, "sample submission")
    solution = _one(files, spec.solution, folder, "solution file (held-out test labels)")
    files = [f for f in files if f not in (sample, solution)]

    bundle = _one(files, spec.bundle, folder, "data bundle (.h5/.npz)")
    if bundle is not None:
        raw = _from_bundle(bundle, comp)
    elif (idx_train := _one(files, spec.idx_train_images, folder, "IDX training images")) is not None:
        raw = _from_idx(files, folder, comp, idx_train)
    elif (train_dir := _image_dir(folder, spec.train_dir)) is not None:
        raw = _from_folders(files, folder, comp, train_dir)
    elif (csv_train := _one(files, spec.csv_train, folder, "training CSV")) is not None:
        raw = _from_csv(files, folder, comp, csv_train)
    else:
        folders = sorted(d.name for d in folder.iterdir() if d.is_dir() and "." in d.name)
        if folders:  # a folder named like a data file (train.csv/), as an unzip into the wrong place leaves
            raise KaggletkError(f"{folder / folders[0]}: a folder, where a data file of that name was expected; "
                                "put the file itself there")
        shown = ", ".join(f.name for f in files[:8]) or "no files"
        raise KaggletkError(f"{folder}: no {comp.name} data found ({shown}); expected IDX files, train/test CSVs, "
                            "train/ and test/ image folders, or an .h5/.npz bundle")
    return _finish(raw, comp, sample, solution)


def _finish(raw: RawData, comp: Competition, sample_path: Path | None, solution: Path | None) -> RawData:
    """Order the test rows as the sample submission lists them, attach held-out labels, give every row its ID."""
    src, test_src = raw.files[0], raw.files[-1]
    check_same_length(raw.train_images, raw.train_labels, src, "training")
    classes = np.unique(raw.train_labels)
    if len(classes) < 2:
        raise KaggletkError(f"{src}: every training label is {classes[0]!s}; a classifier needs at least two classes "
                            "(is this the right file, and the right label column?)")
    if raw.test_labels is not None:
        check_same_length(raw.test_images, raw.test_labels, test_src, "test")
    if raw.train_images.shape[1:] != raw.test_images.shape[1:]:
        def describe(images):
            return f"{images.shape[1]}x{images.shape[2]}" + (f"x{images.shape[3]}" if images.ndim == 4 else "")

        raise KaggletkError(f"{test_src}: test images are {describe(raw.test_images)}, training images "
                            f"{describe(raw.train_images)}; they must have one size and colour mode")
    ids = raw.test_ids
    if ids is not None and len(ids) != len(raw.test_images):
        raise KaggletkError(f"{test_src}: {len(ids)} test IDs for {len(raw.test_images)} test images")
    order = np.arange(len(raw.test_images))
    if sample_path is not None:
        sample = read_sample_submission(sample_path)
        if len(sample.columns) > 2:  # one column per class: each must name one
            known = comp.with_labels(tuple(classes.tolist()))
            names = {str(v) for v in known.labels} | set(known.names)
            unknown = [c for c in sample.columns[1:] if c not in names]
            if unknown:
                raise KaggletkError(f"{sample_path}: columns {', '.join(sample.columns)}: expected an ID and one target "
                                    f"column, or an ID and one column per class; {unknown[0]!r} is not a class of {comp.name}")
        if ids is not None:
            position = {id_key(v): i for i, v in enumerate(np.asarray(ids).astype(str))}
            missing = [v for v in sample.ids if id_key(v) not in position]
            if missing:
                raise KaggletkError(f"{sample_path}: ID {missing[0]!r} ({len(missing)} in all) has no test image in "
                                    f"{raw.files[-1]}; the sample submission and the test data must list the same images")
            order = np.array([position[id_key(v)] for v in sample.ids])
            if len(order) != len(raw.test_images):
                raise KaggletkError(f"{sample_path}: lists {len(order)} IDs but the test data has {len(raw.test_images)} "
                                    "images; they must list the same images")
        elif len(sample.ids) != len(raw.test_images):
            raise KaggletkError(f"{sample_path}: {len(sample.ids)} rows but the test data has {len(raw.test_images)} images "
                                "(in order, without IDs); they must match one to one")
        ids = check_ids(sample.ids, str(sample_path))
    elif ids is not None:
        ids = check_ids(ids, test_src)
    else:
        ids = np.arange(comp.first_id, comp.first_id + len(raw.test_images), dtype=np.int64)
    test_labels = raw.test_labels[order] if raw.test_labels is not None else None
    if solution is not None:
        test_labels = _solution_labels(solution, ids, comp)
        strange = sorted(set(np.unique(test_labels).tolist()) - set(classes.tolist()), key=str)
        if strange:
            raise KaggletkError(f"{solution}: label {strange[0]!s} ({len(strange)} such label(s)) is not among the training "
                                f"labels ({', '.join(map(str, classes[:12].tolist()))}{', ...' if len(classes) > 12 else ''}); "
                                "held-out labels must be classes the models can predict: fix or remove the solution file")
    files = raw.files + [str(p) for p in (sample_path, solution) if p is not None]
    return RawData(raw.train_images, raw.train_labels, raw.test_images[order], ids, test_labels, files, sample_path, raw.layout)


def _solution_labels(path: Path, test_ids: np.ndarray, comp: Competition) -> np.ndarray:
    ids, labels = read_labels_csv(path, label_column=comp.label_column)
    by_id = {id_key(i): v for i, v in zip(ids, labels)}
    missing = [i for i in np.asarray(test_ids).astype(str) if id_key(i) not in by_id]
    if missing:
        raise KaggletkError(f"{path}: no label for test ID {missing[0]!r} ({len(missing)} in all); a solution file labels "
                            "every test image")
    values = np.array([by_id[id_key(i)] for i in np.asarray(test_ids).astype(str)])
    return as_labels(values, str(path), "labels", comp.labels)


def _from_bundle(path: Path, comp: Competition) -> RawData:
    arrays = read_bundle(path)
    src = str(path)
    train_images = as_images(arrays["train_images"], src, "train_images", comp.image_shape)
    train_labels = as_labels(arrays["train_labels"], src, "train_labels", comp.labels)
    test_images = as_images(arrays["test_images"], src, "test_images", comp.image_shape)
    test_labels = as_labels(arrays["test_labels"], src, "test_labels", comp.labels) if "test_labels" in arrays else None
    test_ids = arrays.get("test_ids")
    return RawData(train_images, train_labels, test_images, test_ids, test_labels, [src], layout="bundle")


def _from_idx(files: list[Path], folder: Path, comp: Competition, train_images_path: Path) -> RawData:
    spec = comp.data_files
    paths = {
        "training labels": _one(files, spec.idx_train_labels, folder, "IDX training labels"),
        "test images": _one(files, spec.idx_test_images, folder, "IDX test images"),
    }
    for role, path in paths.items():
        if path is None:
            raise KaggletkError(f"{folder}: IDX {role} file not found beside {train_images_path.name}; add it")
    test_labels_path = _one(files, spec.idx_test_labels, folder, "IDX test labels")
    # Headers first: files that disagree are refused before megabytes (or a .gz bomb's gigabytes) are inflated.
    pairs = [(train_images_path, paths["training labels"])] + ([(paths["test images"], test_labels_path)] if test_labels_path else [])
    for images_path, labels_path in pairs:
        n_images, n_labels = idx_shape(images_path)[0], idx_shape(labels_path)[0]
        if n_images != n_labels:
            raise KaggletkError(f"{labels_path}: {n_labels:,} labels for the {n_images:,} images of {images_path.name} "
                                "(their IDX headers disagree); download both again")
    train_images = as_images(read_idx(train_images_path), str(train_images_path), "images", comp.image_shape)
    train_labels = as_labels(read_idx(paths["training labels"]), str(paths["training labels"]), "labels", comp.labels)
    check_same_length(train_images, train_labels, str(paths["training labels"]), "training")
    test_images = as_images(read_idx(paths["test images"]), str(paths["test images"]), "images", comp.image_shape)
    test_labels = None
    if test_labels_path is not None:
        test_labels = as_labels(read_idx(test_labels_path), str(test_labels_path), "labels", comp.labels)
        check_same_length(test_images, test_labels, str(test_labels_path), "test")
    used = [train_images_path, paths["training labels"], paths["test images"]] + ([test_labels_path] if test_labels_path else [])
    return RawData(train_images, train_labels, test_images, None, test_labels, [str(p) for p in used], layout="idx")


def _from_folders(files: list[Path], folder: Path, comp: Competition, train_dir: Path) -> RawData:
    spec = comp.data_files
    labels_csv = _one(files, spec.csv_train + ("labels*.csv", "*_labels.csv"), folder, f"labels CSV of {train_dir.name}/")
    if labels_csv is None:
        raise KaggletkError(f"{folder}: {train_dir.name}/ holds images but there is no CSV of id,label beside it "
                            "(e.g. train.csv); add it")
    test_dir = _image_dir(folder, spec.test_dir)
    if test_dir is None:
        raise KaggletkError(f"{folder}: no test/ folder of images beside {train_dir.name}/; add it")
    ids, labels = read_labels_csv(labels_csv, label_column=comp.label_column, id_column=comp.test_id_column)
    train_paths = {p.stem: p for p in image_files(train_dir)}
    ids = strip_extension(ids)
    missing = [i for i in ids if i not in train_paths]
    if missing:
        raise KaggletkError(f"{labels_csv}: image {missing[0]!r} ({len(missing)} in all) is not in {train_dir}; every "
                            "labelled ID needs its image")
    train_images = as_images(read_images([train_paths[i] for i in ids], train_dir), str(train_dir), "images", comp.image_shape)
    train_labels = as_labels(labels, str(labels_csv), "labels", comp.labels, first_line=2)
    test_paths = image_files(test_dir)
    test_images = as_images(read_images(test_paths, test_dir), str(test_dir), "images", comp.image_shape)
    if train_images.shape[1:] != test_images.shape[1:]:
        raise KaggletkError(f"{test_dir}: test images are {test_images.shape[1:]}, training images {train_images.shape[1:]}; "
                            "they must have one size and colour mode")
    return RawData(train_images, train_labels, test_images, image_ids(test_paths), None,
                   [str(labels_csv), str(train_dir), str(test_dir)], layout="folders")


def _from_csv(files: list[Path], folder: Path, comp: Competition, train_path: Path) -> RawData:
    test_path = _one([f for f in files if f != train_path], comp.data_files.csv_test, folder, "test CSV")
    if test_path is None:
        raise KaggletkError(f"{folder}: test CSV not found beside {train_path.name}; add it (e.g. test.csv)")
    train = read_csv(train_path, require_label=True, label_column=comp.label_column)
    train_images = as_images(train.pixels, str(train_path), "pixels", comp.image_shape)
    test = read_csv(test_path, require_label=False, label_column=comp.label_column, id_column=comp.test_id_column)
    if train.pixels.shape[1] != test.pixels.shape[1]:
        raise KaggletkError(f"{test_path}: {test.pixels.shape[1]} pixel columns, {train_path.name} has {train.pixels.shape[1]}; "
                            "the files must have the same pixels")
    train_labels = as_labels(train.labels, str(train_path), f"column {train.label_column!r}", comp.labels, first_line=2)
    test_labels = (as_labels(test.labels, str(test_path), f"column {test.label_column!r}", comp.labels, first_line=2)
                   if test.labels is not None else None)
    return RawData(train_images, train_labels, as_images(test.pixels, str(test_path), "pixels", comp.image_shape), test.ids,
                   test_labels, [str(train_path), str(test_path)], layout="csv")
