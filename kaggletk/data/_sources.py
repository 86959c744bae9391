"""Where a competition's data comes from: a folder, ``$KAGGLETK_DATA_DIR``, Debian's dataset folder, or Kaggle.

``fetch`` tries them in that order and writes the full-data cache from the first it finds;
``load_dataset`` is what a run trains on (the full data when it is here, else the bundled sample).
The Kaggle client is imported only when a download is needed.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from kaggletk.callbacks import Callback, CallbackList
from kaggletk.competition import Competition, load_competition
from kaggletk.data.cache import BrokenCache, Dataset, StaleCache, read_cache, write_cache
from kaggletk.data.source import read_source
from kaggletk.errors import KaggletkError
from kaggletk.workspace import Workspace, workspace

DATA_CHOICES = ("auto", "full", "sample")


@dataclass(frozen=True)
class FetchResult:
    dataset: Dataset
    source: str
    from_cache: bool
    seconds: float


def _local_sources(comp: Competition) -> list[tuple[str, Path]]:
    sources = []
    env = os.environ.get("KAGGLETK_DATA_DIR")
    if env:
        root = Path(env)
        sources.append(("KAGGLETK_DATA_DIR", root / comp.name if (root / comp.name).is_dir() else root))
    if comp.data_dir:
        path = Path(comp.data_dir)
        sources.append(("data_dir", path if path.is_absolute() or comp.folder is None else comp.folder / path))
    if comp.debian_dir:
        sources.append(("Debian package", Path(comp.debian_dir)))
    return sources


def _download(comp: Competition, dest: Path, callbacks: CallbackList, override: str | None) -> tuple[Path, str]:
    """Download the competition's files from Kaggle (its competition when a slug is set, else its data set)."""
    from kaggletk.kaggle import download_files

    slug = comp.submission_slug(override)
    origin = comp.slug_origin(override) if slug else f"kaggle_dataset in {comp.definition}"
    folder = download_files(dest, competition=slug, dataset=None if slug else comp.kaggle_dataset, origin=origin,
                            hint=f"; or build the cache from local files with `kaggletk fetch {comp.name} --from FOLDER`",
                            notify=callbacks.on_note, progress=callbacks.on_download)
    return folder, f"Kaggle {slug or comp.kaggle_dataset}"


def fetch(name: str, source: Path | None = None, *, use_kaggle: bool = True, competition: str | None = None,
          ws: Workspace | None = None, callbacks: Sequence[Callback] = (), repair: bool = True) -> FetchResult:
    """Build (or reuse) the full-data cache of competition ``name``.

    Sources are tried in order: the cache; ``source`` (``--from``) or ``$KAGGLETK_DATA_DIR``; the
    competition's ``data_dir`` and Debian folder; the Kaggle API (the competition ``competition``,
    else ``$KAGGLETK_COMPETITION``, else the declared one; else its data set). With ``source``
    given, only it is read and the cache is rebuilt from it. A cache whose arrays are missing or
    changed is rebuilt from its source when ``repair`` (``kaggletk fetch``), else refused in one line.
    """
    ws = ws or workspace()
    comp = load_competition(name, ws)
    start = time.perf_counter()
    stale = None

    def written(raw, origin: str, replace: bool = False) -> FetchResult:
        # --from rebuilds the cache; a cache found missing is built once even when two processes start together
        write_cache(comp, raw, "full", origin, ws, replace=replace or source is not None or stale is not None)
        dataset = read_cache(comp, "full", ws)
        assert dataset is not None
        return FetchResult(dataset, origin, False, time.perf_counter() - start)

    if source is not None:
        return written(read_source(Path(source), comp), str(source))
    notes = CallbackList(callbacks)
    try:
        cached = read_cache(comp, "full", ws)
    except StaleCache as exc:  # built under other reading fields, or an array changed or lost: built again
        if isinstance(exc, BrokenCache) and not repair:
            raise
        stale, cached = exc, None
        notes.on_note(f"{exc.what}: rebuilding the cache")
    if cached is not None:
        return FetchResult(cached, "cache", True, time.perf_counter() - start)
    tried = []
    if stale is not None and stale.source and Path(stale.source).is_dir():  # built with --from FOLDER: read it again
        return written(read_source(Path(stale.source), comp), stale.source, replace=True)
    for label, folder in _local_sources(comp):
        if folder.is_dir():
            return written(read_source(folder, comp), f"{label} {folder}")
        tried.append(f"{label} {folder} (absent)")
    if use_kaggle and (comp.kaggle_dataset or comp.submission_slug(competition)):
        with tempfile.TemporaryDirectory(prefix="kaggletk-download-") as tmp:
            folder, origin = _download(comp, Path(tmp), CallbackList(callbacks), competition)
            return written(read_source(folder, comp), origin)
    tried.append("Kaggle (no Kaggle source declared)" if not (comp.kaggle_dataset or comp.kaggle_competition) else "Kaggle (skipped)")
    if stale is not None:
        raise KaggletkError(f"{stale}, and its source is gone (tried: {'; '.join(tried)}); rebuild it with "
                            f"`kaggletk fetch {comp.name} --from FOLDER`")
    raise KaggletkError(
        f"no data found for {comp.name} (tried: {'; '.join(tried)}); use `kaggletk fetch {comp.name} --from FOLDER` or set KAGGLETK_DATA_DIR"
    )


def load_sample(comp: Competition, ws: Workspace | None = None) -> Dataset:
    """The small real sample shipped in ``competitions/<name>/sample/``, cached on first use."""
    try:
        cached = read_cache(comp, "sample", ws)
        stale = False
    except StaleCache:  # competition.py changed how the files are read: the shipped sample is read again
        cached, stale = None, True
    if cached is not None:
        return cached
    assert comp.folder is not None
    sample_folder = comp.folder / "sample"
    if not sample_folder.is_dir():
        raise KaggletkError(f"{sample_folder}: no sample data shipped for {comp.name}; fetch the full data with `kaggletk fetch {comp.name}`")
    write_cache(comp, read_source(sample_folder, comp), "sample", str(sample_folder), ws, replace=stale)
    dataset = read_cache(comp, "sample", ws)
    assert dataset is not None
    return dataset


def load_dataset(name: str, data: str = "auto", ws: Workspace | None = None, callbacks: Sequence[Callback] = ()) -> Dataset:
    """The data a run trains on.

    Parameters
    ----------
    data : {"auto", "full", "sample"}
        ``auto`` uses the full data when it is cached or found in a local source, else the
        bundled sample (saying so through the callbacks' ``on_note``). ``full`` fails when there is no full data.
    """
    ws = ws or workspace()
    comp = load_competition(name, ws)
    if data == "sample":
        return load_sample(comp, ws)
    if data not in ("auto", "full"):
        raise KaggletkError(f"--data {data!r}: use auto, full or sample")
    try:
        return fetch(name, use_kaggle=False, ws=ws, repair=False).dataset
    except KaggletkError as exc:
        if data == "full" or not str(exc).startswith("no data found"):
            raise
    CallbackList(callbacks).on_note(f"no full data for {name} (run `kaggletk fetch {name}`); using the bundled sample")
    return load_sample(comp, ws)
