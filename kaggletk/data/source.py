"""Read a competition's data from a source folder, whatever format it is in."""

from __future__ import annotations

import fnmatch
from pathlib import Path

import numpy as np

from kaggletk.competition import Competition
from kaggletk.data._base import RawData, as_images, as_labels, check_ids, check_same_length
from kaggletk.data.bundle import read_bundle
from kaggletk.data.csv import read_csv
from kaggletk.data.idx import read_idx
from kaggletk.errors import KaggletkError

_MAX_DEPTH = 3


def _candidates(folder: Path) -> list[Path]:
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if len(rel.parts) > _MAX_DEPTH or any(p.startswith(".") or p == "__MACOSX" for p in rel.parts):
            continue
        if path.is_file():
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


def read_source(folder: Path, comp: Competition) -> RawData:
    """Read train and test data for ``comp`` from ``folder`` (searched a few levels deep).

    Layouts are tried in order: bundle (HDF5/``.npz``), IDX, CSV. Every array is validated:
    images become uint8 (n, 28, 28); labels must be in ``comp.labels``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise KaggletkError(f"{folder}: not a folder; --from needs the folder holding the data files")
    files = _candidates(folder)
    spec = comp.data_files

    bundle = _one(files, spec.bundle, folder, "data bundle (.h5/.npz)")
    if bundle is not None:
        return _from_bundle(bundle, comp)
    idx_train = _one(files, spec.idx_train_images, folder, "IDX training images")
    if idx_train is not None:
        return _from_idx(files, folder, comp, idx_train)
    csv_train = _one(files, spec.csv_train, folder, "training CSV")
    if csv_train is not None:
        return _from_csv(files, folder, comp, csv_train)
    shown = ", ".join(f.name for f in files[:8]) or "no files"
    raise KaggletkError(
        f"{folder}: no {comp.name} data found ({shown}); expected IDX files, train/test CSVs, or an .h5/.npz bundle"
    )


def _finish(comp: Competition, train_images, train_labels, test_images, test_ids, test_labels, files) -> RawData:
    check_same_length(train_images, train_labels, files[0], "training")
    if test_labels is not None:
        check_same_length(test_images, test_labels, files[0], "test")
    if test_ids is None:
        test_ids = np.arange(len(test_images), dtype=np.int64)
    elif len(test_ids) != len(test_images):
        raise KaggletkError(f"{files[0]}: {len(test_ids)} test IDs for {len(test_images)} test images")
    return RawData(train_images, train_labels, test_images, test_ids, test_labels, [str(f) for f in files])


def _from_bundle(path: Path, comp: Competition) -> RawData:
    arrays = read_bundle(path)
    src = str(path)
    train_images = as_images(arrays["train_images"], src, "train_images")
    train_labels = as_labels(arrays["train_labels"], src, "train_labels", comp.labels)
    test_images = as_images(arrays["test_images"], src, "test_images")
    test_labels = as_labels(arrays["test_labels"], src, "test_labels", comp.labels) if "test_labels" in arrays else None
    test_ids = check_ids(arrays["test_ids"], src) if "test_ids" in arrays else None
    return _finish(comp, train_images, train_labels, test_images, test_ids, test_labels, [path])


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
    train_images = as_images(read_idx(train_images_path), str(train_images_path), "images")
    train_labels = as_labels(read_idx(paths["training labels"]), str(paths["training labels"]), "labels", comp.labels)
    check_same_length(train_images, train_labels, str(paths["training labels"]), "training")
    test_images = as_images(read_idx(paths["test images"]), str(paths["test images"]), "images")
    test_labels = None
    if test_labels_path is not None:
        test_labels = as_labels(read_idx(test_labels_path), str(test_labels_path), "labels", comp.labels)
        check_same_length(test_images, test_labels, str(test_labels_path), "test")
    used = [train_images_path, paths["training labels"], paths["test images"]] + ([test_labels_path] if test_labels_path else [])
    return _finish(comp, train_images, train_labels, test_images, None, test_labels, used)


def _from_csv(files: list[Path], folder: Path, comp: Competition, train_path: Path) -> RawData:
    test_path = _one([f for f in files if f != train_path], comp.data_files.csv_test, folder, "test CSV")
    if test_path is None:
        raise KaggletkError(f"{folder}: test CSV not found beside {train_path.name}; add it (e.g. test.csv)")
    train = read_csv(train_path, require_label=True)
    test = read_csv(test_path, require_label=False)
    train_labels = as_labels(train.labels, str(train_path), "column 'label'", comp.labels, first_line=2)
    test_labels = as_labels(test.labels, str(test_path), "column 'label'", comp.labels, first_line=2) if test.labels is not None else None
    test_ids = check_ids(test.ids, str(test_path)) if test.ids is not None else None
    return _finish(
        comp,
        as_images(train.pixels, str(train_path), "pixels"),
        train_labels,
        as_images(test.pixels, str(test_path), "pixels"),
        test_ids,
        test_labels,
        [train_path, test_path],
    )
