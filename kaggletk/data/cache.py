"""The canonical data cache: ``competitions/<name>/data/<variant>/``, fast to load.

Layout of one variant (``full`` or ``sample``)::

    train_images.npy   (n_train, 28, 28) uint8
    train_labels.npy   (n_train,) int64, the competition's label values
    test_images.npy    (n_test, 28, 28) uint8
    test_ids.npy       (n_test,) int64
    manifest.json      source, files read, counts, fingerprint, checksums
    holdout/test_labels.npy   held-out test labels when the source has them (local scoring only)

A variant is written to a temporary folder and renamed into place, so a reader never sees half of one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kaggletk import __version__
from kaggletk._lock import folder_lock
from kaggletk._io import load_npy, read_json, recover_dir, replace_dir, save_npy, write_json
from kaggletk.competition import Competition, load_competition
from kaggletk.data._base import RawData
from kaggletk.data.source import read_source
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
    competition : Competition
    variant : {"full", "sample"}
    train_images : ndarray of shape (n_train, 28, 28), uint8
    train_labels : ndarray of shape (n_train,), int64, label values
    test_images : ndarray of shape (n_test, 28, 28), uint8
    test_ids : ndarray of shape (n_test,), int64
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

    @property
    def y(self) -> np.ndarray:
        """Training labels as class indices 0..n_classes-1, int64, shape (n_train,)."""
        return self.competition.to_index(self.train_labels)

    @property
    def n_train(self) -> int:
        return len(self.train_labels)

    @property
    def n_test(self) -> int:
        return len(self.test_ids)

    def holdout_labels(self) -> np.ndarray | None:
        """Held-out test labels (label values), or None. For scoring only: never train or tune on them."""
        path = self.folder / "holdout" / "test_labels.npy"
        return load_npy(path) if path.exists() else None


def fingerprint(train_images: np.ndarray, train_labels: np.ndarray, test_images: np.ndarray) -> str:
    digest = hashlib.sha256()
    for array in (train_images, train_labels.astype(np.int64), test_images):
        digest.update(str(array.shape).encode())
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()[:16]


def cache_dir(comp: str, variant: str, ws: Workspace | None = None) -> Path:
    if variant not in VARIANTS:
        raise KaggletkError(f"--data {variant!r}: use one of {', '.join(VARIANTS)}")
    return (ws or workspace()).data_dir(comp) / variant


def write_cache(comp: Competition, raw: RawData, variant: str, source: str, ws: Workspace | None = None) -> Path:
    """Write ``raw`` as the cache ``variant`` of ``comp`` (atomically, replacing any old one)."""
    final = cache_dir(comp.name, variant, ws)
    # One writer at a time per competition; others wait (two `cv` runs may start on a fresh machine together).
    with folder_lock(final.parent, f"{final.parent}: the data cache is being written", wait_seconds=600):
        for leftover in final.parent.glob(f".{variant}.*.tmp"):  # from a fetch that was killed
            shutil.rmtree(leftover, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{variant}.", suffix=".tmp", dir=final.parent))
        try:
            arrays = {
                "train_images": raw.train_images,
                "train_labels": raw.train_labels.astype(np.int64),
                "test_images": raw.test_images,
                "test_ids": raw.test_ids.astype(np.int64),
            }
            checksums = {name: save_npy(tmp / f"{name}.npy", arr) for name, arr in arrays.items()}
            if raw.test_labels is not None:
                checksums["holdout/test_labels"] = save_npy(tmp / "holdout" / "test_labels.npy", raw.test_labels.astype(np.int64))
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
                    "train_label_counts": {int(k): int(v) for k, v in zip(labels, counts)},
                    "fingerprint": fingerprint(raw.train_images, raw.train_labels, raw.test_images),
                    "checksums": checksums,
                    "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                },
            )
            replace_dir(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return final


def read_cache(comp: Competition, variant: str, ws: Workspace | None = None) -> Dataset | None:
    """Load a cached variant, or None when there is none (or it is from an older cache version)."""
    folder = cache_dir(comp.name, variant, ws)
    if not folder.exists() and folder.with_name(f".{variant}.old").exists():
        # A writer was killed between its two renames, or is between them now: wait for any live writer.
        with folder_lock(folder.parent, f"{folder.parent}: the data cache is being written", wait_seconds=600):
            recover_dir(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.exists():
        return None
    manifest = read_json(manifest_path)
    if manifest.get("cache_version") != CACHE_VERSION:
        return None
    arrays = {name: load_npy(folder / f"{name}.npy") for name in _ARRAYS}
    if len(arrays["train_images"]) != manifest["n_train"] or len(arrays["test_ids"]) != manifest["n_test"]:
        raise KaggletkError(f"{folder}: cache arrays do not match manifest.json; run `kaggletk fetch {comp.name}` again")
    return Dataset(
        competition=comp,
        variant=variant,
        fingerprint=manifest["fingerprint"],
        folder=folder,
        source=manifest.get("source", ""),
        **arrays,
    )


def _local_sources(comp: Competition) -> list[tuple[str, Path]]:
    sources = []
    env = os.environ.get("KAGGLETK_DATA_DIR")
    if env:
        root = Path(env)
        sources.append(("KAGGLETK_DATA_DIR", root / comp.name if (root / comp.name).is_dir() else root))
    if comp.debian_dir:
        sources.append(("Debian package", Path(comp.debian_dir)))
    return sources


def _kaggle_source(comp: Competition) -> Callable[[Path], Path] | None:
    """The Kaggle download step, when the competition names a Kaggle source and the client is set up."""
    if not (comp.kaggle_dataset or comp.kaggle_competition):
        return None
    try:
        from kaggletk.kaggle import download_data
    except ImportError:
        return None
    return lambda dest: download_data(comp, dest)


@dataclass(frozen=True)
class FetchResult:
    dataset: Dataset
    source: str
    from_cache: bool
    seconds: float


def fetch(name: str, source: Path | None = None, *, use_kaggle: bool = True, ws: Workspace | None = None) -> FetchResult:
    """Build (or reuse) the full-data cache of competition ``name``.

    Sources are tried in order: the cache; ``source`` (``--from``) or ``$KAGGLETK_DATA_DIR``; the
    competition's Debian folder; the Kaggle API. With ``source`` given, only it is read and the
    cache is rebuilt from it.
    """
    ws = ws or workspace()
    comp = load_competition(name, ws)
    start = time.perf_counter()
    if source is not None:
        raw = read_source(Path(source), comp)
        write_cache(comp, raw, "full", str(source), ws)
        return FetchResult(_must_read(comp, ws), str(source), False, time.perf_counter() - start)
    cached = read_cache(comp, "full", ws)
    if cached is not None:
        return FetchResult(cached, "cache", True, time.perf_counter() - start)
    tried = []
    for label, folder in _local_sources(comp):
        if folder.is_dir():
            raw = read_source(folder, comp)
            write_cache(comp, raw, "full", str(folder), ws)
            return FetchResult(_must_read(comp, ws), f"{label} {folder}", False, time.perf_counter() - start)
        tried.append(f"{label} {folder} (absent)")
    downloader = _kaggle_source(comp) if use_kaggle else None
    if downloader is not None:
        with tempfile.TemporaryDirectory(prefix="kaggletk-download-") as tmp:
            folder = downloader(Path(tmp))
            raw = read_source(folder, comp)
            origin = f"Kaggle {comp.submission_slug() or comp.kaggle_dataset}"
            write_cache(comp, raw, "full", origin, ws)
        return FetchResult(_must_read(comp, ws), origin, False, time.perf_counter() - start)
    tried.append("Kaggle (no Kaggle source declared)" if not (comp.kaggle_dataset or comp.kaggle_competition) else "Kaggle (skipped)")
    raise KaggletkError(
        f"no data found for {comp.name} (tried: {'; '.join(tried)}); use `kaggletk fetch {comp.name} --from FOLDER` or set KAGGLETK_DATA_DIR"
    )


def _must_read(comp: Competition, ws: Workspace) -> Dataset:
    dataset = read_cache(comp, "full", ws)
    assert dataset is not None
    return dataset


def load_sample(comp: Competition, ws: Workspace | None = None) -> Dataset:
    """The small real sample shipped in ``competitions/<name>/sample/``, cached on first use."""
    cached = read_cache(comp, "sample", ws)
    if cached is not None:
        return cached
    assert comp.folder is not None
    sample_folder = comp.folder / "sample"
    if not sample_folder.is_dir():
        raise KaggletkError(f"{sample_folder}: no sample data shipped for {comp.name}; fetch the full data with `kaggletk fetch {comp.name}`")
    write_cache(comp, read_source(sample_folder, comp), "sample", str(sample_folder), ws)
    dataset = read_cache(comp, "sample", ws)
    assert dataset is not None
    return dataset


def load_dataset(name: str, data: str = "auto", ws: Workspace | None = None, notify: Callable[[str], None] | None = None) -> Dataset:
    """The data a run trains on.

    Parameters
    ----------
    data : {"auto", "full", "sample"}
        ``auto`` uses the full data when it is cached or found in a local source, else the
        bundled sample (saying so through ``notify``). ``full`` fails when there is no full data.
    """
    ws = ws or workspace()
    comp = load_competition(name, ws)
    if data == "sample":
        return load_sample(comp, ws)
    if data not in ("auto", "full"):
        raise KaggletkError(f"--data {data!r}: use auto, full or sample")
    try:
        return fetch(name, use_kaggle=False, ws=ws).dataset
    except KaggletkError as exc:
        if data == "full" or not str(exc).startswith("no data found"):
            raise
    if notify is not None:
        notify(f"no full data for {name} (run `kaggletk fetch {name}`); using the bundled sample")
    return load_sample(comp, ws)
