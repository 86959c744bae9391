"""The canonical data cache: ``competitions/<name>/data/<variant>/``, fast to load.

Layout of one variant (``full`` or ``sample``)::

    train_images.npy   (n_train, h, w) uint8, or (n_train, h, w, c) for colour images
    train_labels.npy   (n_train,) the competition's label values: int64, or text (numpy unicode)
    test_images.npy    (n_test, h, w[, c]) uint8, in the order a submission lists them
    test_ids.npy       (n_test,) int64 or text: the sample submission's IDs when there is one
    sample_submission.csv   the competition's sample submission, byte for byte, when it has one
    manifest.json      source, files read, counts, label set, fingerprint, checksums
    holdout/test_labels.npy   held-out test labels when the source has them (local scoring only)

A variant is written to a temporary folder and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kaggletk import __version__
from kaggletk._lock import folder_lock
from kaggletk._faults import crash_point
from kaggletk._io import (load_npy, read_json, recover_dir, replace_dir, save_npy, sha256_file, share_dir, verified_sha256,
                          write_bytes, write_json)
from kaggletk.competition import Competition
from kaggletk.data._base import RawData
from kaggletk.errors import KaggletkError
from kaggletk.workspace import Workspace, workspace

VARIANTS = ("full", "sample")
CACHE_VERSION = 1
_ARRAYS = ("train_images", "train_labels", "test_images", "test_ids")


@dataclass(frozen=True)
class Dataset:
    """One competition's cached data, ready for folds and views.

    Attributes
    ----------
    competition : Competition, with its label set (read from the data when it declares none)
    variant : {"full", "sample"}
    train_images : ndarray of shape (n_train, h, w) or (n_train, h, w, c), uint8
    train_labels : ndarray of shape (n_train,), label values (int64 or text)
    test_images : ndarray of shape (n_test, h, w[, c]), uint8, in submission order
    test_ids : ndarray of shape (n_test,), int64 or text
    fingerprint : str, 16 hex digits identifying the training data (and so its folds)
    folder : Path, the cache folder
    """

    competition: Competition
    variant: str
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: np.ndarray
    test_ids: np.ndarray
    fingerprint: str
    folder: Path
    source: str
    checksums: dict = field(default_factory=dict, repr=False)  # sha256 of each cached array, from its manifest

    @functools.cached_property
    def y(self) -> np.ndarray:
        """Training labels as class indices 0..n_classes-1, int64, shape (n_train,)."""
        return self.competition.to_index(self.train_labels)

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(height, width, channels) of every image."""
        shape = self.train_images.shape[1:]
        return (shape[0], shape[1], shape[2] if len(shape) == 3 else 1)

    @functools.cached_property
    def sample_submission(self):
        """The competition's ``SampleSubmission`` (its header, IDs and order), or None when it has none."""
        from kaggletk.data._sample import read_sample_submission

        path = self.folder / SAMPLE_NAME
        if not path.exists():
            return None
        expected = self.checksums.get(SAMPLE_NAME)
        if expected is not None and verified_sha256(path) != expected:
            raise KaggletkError(f"{path}: checksum does not match the cache's manifest.json; run "
                                f"`kaggletk fetch {self.competition.name}` again")
        return read_sample_submission(path)

    @property
    def n_train(self) -> int:
        return len(self.train_labels)

    @property
    def n_test(self) -> int:
        return len(self.test_ids)

    def holdout_labels(self) -> np.ndarray | None:
        """Held-out test labels (label values), or None. For scoring only: never train or tune on them."""
        path = self.folder / "holdout" / "test_labels.npy"
        if not path.exists():
            return None
        expected = self.checksums.get("holdout/test_labels")
        if expected is not None and verified_sha256(path) != expected:
            raise KaggletkError(f"{path}: checksum does not match the cache's manifest.json; run "
                                f"`kaggletk fetch {self.competition.name}` again")
        return load_npy(path)


SAMPLE_NAME = "sample_submission.csv"


def label_set(comp: Competition, train_labels: np.ndarray) -> list:
    """The class-index order of labels: the competition's declared labels, else the training labels sorted."""
    if comp.labels is not None:
        return [v.item() if isinstance(v, np.generic) else v for v in comp.labels]
    return [v.item() if isinstance(v, np.generic) else str(v) for v in np.unique(train_labels)]


def fingerprint(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray, label_order=None) -> str:
    """16 hex digits naming the data a run trains on; with ``label_order``, also the order of the class columns."""
    digest = hashlib.sha256()
    if label_order is not None:  # reordered labels renumber the classes: runs made before are not comparable
        digest.update(repr([str(v) for v in label_order]).encode())
    labels = train_labels.astype(np.int64) if train_labels.dtype.kind in "iu" else train_labels.astype(str)
    for array in (train_images, labels, test_images):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def _values(array: np.ndarray) -> np.ndarray:
    """Labels or IDs as the cache stores them: int64, or fixed-width text (never Python objects)."""
    array = np.asarray(array)
    return array.astype(np.int64) if array.dtype.kind in "iub" else array.astype(str)


def cache_dir(comp: str, variant: str, ws: Workspace | None = None) -> Path:
    if variant not in VARIANTS:
        raise KaggletkError(f"--data {variant!r}: use one of {', '.join(VARIANTS)}")
    return (ws or workspace()).data_dir(comp) / variant


_BUSY = "the data cache is being written"


class StaleCache(KaggletkError):
    """The cache was built under other reading fields of competition.py: it must be rebuilt from its source.

    ``what`` is the problem alone (the message may add the fix); ``fetch`` rebuilds and says ``what``.
    """

    def __init__(self, message: str, source: str, what: str | None = None):
        super().__init__(message)
        self.source, self.what = source, what or message


class BrokenCache(StaleCache):
    """An array of the cache is missing, or differs from its checksum: ``fetch`` rebuilds it from its source."""


def write_cache(comp: Competition, raw: RawData, variant: str, source: str, ws: Workspace | None = None, *,
                replace: bool = True) -> Path:
    """Write ``raw`` as the cache ``variant`` of ``comp``: into a temporary folder, then renamed into place.

    One writer at a time per competition (others wait), and readers wait for the writer.
    ``replace=False`` keeps a cache that another process finished meanwhile (two runs starting
    together on a fresh machine build it once); ``fetch --from`` replaces it.
    """
    final = cache_dir(comp.name, variant, ws)
    with folder_lock(final.parent, f"{final.parent}: {_BUSY}", wait_seconds=600):
        for leftover in final.parent.glob(f".{variant}.*.tmp"):  # from a writer that was killed: we hold the lock
            shutil.rmtree(leftover, ignore_errors=True)
        recover_dir(final)
        if not replace and (final / "manifest.json").exists():
            return final
        tmp = Path(tempfile.mkdtemp(prefix=f".{variant}.", suffix=".tmp", dir=final.parent))
        try:
            share_dir(tmp)
            arrays = {"train_images": raw.train_images, "test_images": raw.test_images,
                      "train_labels": _values(raw.train_labels), "test_ids": _values(raw.test_ids)}
            checksums = {name: save_npy(tmp / f"{name}.npy", arr) for name, arr in arrays.items()}
            if raw.sample_submission is not None:
                from kaggletk.data._base import open_binary

                with open_binary(raw.sample_submission) as stream:  # a sample inside a .zip is kept as its CSV
                    write_bytes(tmp / SAMPLE_NAME, stream.read())
                checksums[SAMPLE_NAME] = sha256_file(tmp / SAMPLE_NAME)
            if raw.test_labels is not None:
                checksums["holdout/test_labels"] = save_npy(tmp / "holdout" / "test_labels.npy", _values(raw.test_labels))
            labels, counts = np.unique(raw.train_labels, return_counts=True)
            write_json(
                tmp / "manifest.json",
                {
                    "cache_version": CACHE_VERSION,
                    "kaggletk_version": __version__,
                    "competition": comp.name,
                    "variant": variant,
                    "source": source,
                    "files": raw.files,
                    "n_train": len(raw.train_labels),
                    "n_test": len(raw.test_ids),
                    "has_holdout_labels": raw.test_labels is not None,
                    "labels": label_set(comp, raw.train_labels),
                    "train_label_counts": {str(k): int(v) for k, v in zip(labels, counts)},
                    "image_shape": list(raw.train_images.shape[1:]),
                    "fingerprint": fingerprint(raw.train_images, raw.train_labels, raw.test_images, label_set(comp, raw.train_labels)),
                    "reader": comp.reader(),
                    "checksums": checksums,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
            )
            crash_point("cache-written")
            replace_dir(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def read_cache(comp: Competition, variant: str, ws: Workspace | None = None) -> Dataset | None:
    """Load a cached variant, or None when there is none (or it is from an older cache version).

    Every array is checked against the sha256 its manifest holds (once per process for an unchanged
    file), so a changed or corrupt cache fails in one line instead of training on wrong data.
    """
    folder = cache_dir(comp.name, variant, ws)
    if not folder.exists() and folder.with_name(f".{variant}.old").exists():
        # A writer was killed between its two renames (or is between them now): as a writer, put the old one back.
        with folder_lock(folder.parent, f"{folder.parent}: {_BUSY}", wait_seconds=600):
            recover_dir(folder)
    if not (folder / "manifest.json").exists():
        return None
    with folder_lock(folder.parent, f"{folder.parent}: {_BUSY}", wait_seconds=600, shared=True):
        manifest_path = folder / "manifest.json"
        if not manifest_path.exists():
            return None
        manifest = read_json(manifest_path)
        if manifest.get("cache_version") != CACHE_VERSION:
            return None
        built_under = manifest.get("reader")
        if built_under is not None and built_under != comp.reader():
            now = comp.reader()
            changed = [k for k in sorted(set(now) | set(built_under)) if now.get(k) != built_under.get(k)]
            raise StaleCache(f"{manifest_path}: {comp.definition} changed {', '.join(changed)} since this cache was built",
                             manifest.get("source", ""))
        checksums = manifest.get("checksums") or {}
        refetch = f"run `kaggletk fetch {comp.name}` to rebuild it from its source"
        arrays = {}
        for name in _ARRAYS:
            path = folder / f"{name}.npy"
            if not path.exists():
                what = f"{path}: missing from the data cache"
                raise BrokenCache(f"{what}; {refetch}", manifest.get("source", ""), what)
            if name not in checksums or verified_sha256(path) != checksums[name]:
                what = f"{path}: checksum does not match {manifest_path.name} (the file was changed or is corrupt)"
                raise BrokenCache(f"{what}; {refetch}", manifest.get("source", ""), what)
            arrays[name] = load_npy(path)
    if len(arrays["train_images"]) != manifest["n_train"] or len(arrays["test_ids"]) != manifest["n_test"]:
        raise KaggletkError(f"{folder}: cache arrays do not match manifest.json; {refetch}")
    labels = manifest.get("labels")
    return Dataset(
        competition=comp.with_labels(tuple(labels)) if labels is not None else comp,
        variant=variant,
        fingerprint=manifest["fingerprint"],
        folder=folder,
        source=manifest.get("source", ""),
        checksums=checksums,
        **arrays,
    )
