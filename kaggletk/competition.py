"""Competitions: one folder each under ``competitions/``, declared by a ``Competition`` object.

``competitions/<name>/competition.py`` must define ``COMPETITION = Competition(...)``. Adding a
competition is adding that folder; nothing in the package changes.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.util
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kaggletk.errors import KaggletkError
from kaggletk.workspace import Workspace, check_name, workspace



@dataclass(frozen=True)
class DataFiles:
    """Glob patterns (searched recursively in a source folder) for each file role.

    A source folder is read in the first layout that matches: a bundle (HDF5 or ``.npz`` with
    ``train_images``/``train_labels``/``test_images`` keys), IDX files, image folders
    (``train/<id>.png`` with a CSV of ``id,label``, and ``test/<id>.png``), or CSV files (a label
    column and pixel columns found by name; plain, ``.gz`` or inside a ``.zip``). Beside any of them
    a sample submission (kept: it decides the submission's header, IDs and order) and a solution
    file (``id,label`` of the test set, held out for local scoring) are found by name.
    """

    bundle: tuple[str, ...] = ("*.h5", "*.hdf5", "*.npz")
    idx_train_images: tuple[str, ...] = ("train-images-idx3-ubyte*", "train-images.idx3-ubyte*")
    idx_train_labels: tuple[str, ...] = ("train-labels-idx1-ubyte*", "train-labels.idx1-ubyte*")
    idx_test_images: tuple[str, ...] = ("t10k-images-idx3-ubyte*", "t10k-images.idx3-ubyte*", "test-images-idx3-ubyte*")
    idx_test_labels: tuple[str, ...] = ("t10k-labels-idx1-ubyte*", "t10k-labels.idx1-ubyte*", "test-labels-idx1-ubyte*")
    csv_train: tuple[str, ...] = ("*train*.csv", "*train*.csv.gz", "*train*.zip")
    csv_test: tuple[str, ...] = ("*test*.csv", "*test*.csv.gz", "*test*.zip")
    sample_submission: tuple[str, ...] = ("sample_submission*.csv", "samplesubmission*.csv", "sample-submission*.csv",
                                          "*sample*submission*.csv", "sample_submission*.zip", "samplesubmission*.zip")
    solution: tuple[str, ...] = ("solution*.csv", "test_labels*.csv", "test-labels*.csv")
    train_dir: tuple[str, ...] = ("train", "train_images", "training")
    test_dir: tuple[str, ...] = ("test", "test_images", "testing")


@dataclass(frozen=True)
class Competition:
    """Everything kaggletk needs to know about one competition.

    Parameters
    ----------
    name : str
        Folder name under ``competitions/``; used in every path.
    title : str
        Human-readable name.
    labels : tuple of int or str, optional
        The label values as the data and the submission spell them, in class-index order (any
        integers, negative or with gaps, or text such as ``"A"``, ``"cat"``). Models see class
        indices ``0..len(labels)-1``; users see these values. Default: every value in the
        training labels, sorted.
    class_names : tuple of str, optional
        One name per label, for reports; default the labels as text.
    data_files : DataFiles
        How to find and read the data in a source folder.
    data_dir : str or None
        A folder holding the competition's files (``kaggletk new --from DIR`` sets it); relative paths
        are relative to the competition's folder.
    debian_dir : str or None
        A system folder that may hold the data (Debian's dataset packages).
    kaggle_dataset : str or None
        ``owner/dataset`` on Kaggle to download the data from.
    kaggle_competition : str or None
        Competition slug to submit to; ``--competition`` or ``$KAGGLETK_COMPETITION`` override it.
    id_column, target_column : str
        Submission columns when the competition has no sample submission (with one, its header decides).
    label_column, test_id_column : str, optional
        The training label column and the test files' ID column, when their names are not the usual
        ones (``label``/``class``/``target``..., ``id``/``ImageId``...).
    first_id : int
        With no sample submission and no ID column in the test file, test rows get IDs
        ``first_id, first_id + 1, ...`` (Kaggle competitions often start at 1).
    image_shape : tuple, optional
        ``(height, width)`` or ``(height, width, channels)`` of flat pixel rows; default: from the data
        (a square grayscale or RGB image).
    metric : {"accuracy", "macro_f1", "weighted_f1", "log_loss"}
        The competition's metric: it ranks runs, picks blends and drives tuning; accuracy and
        macro-F1 are shown beside it.
    n_folds, fold_scheme, fold_seed
        The CV folds every run of this competition shares.
    views : tuple of str, optional
        Feature views offered (see ``kaggletk.views``); default every registered view.
    hflip : bool
        Whether a horizontal flip keeps the class (clothes: yes; hand signs: no).
    default_models : tuple of str
        Models ``make cv`` runs, as ``model`` or ``model:view``.
    licence : str
        Licence note of the data.
    """

    name: str
    title: str
    labels: tuple | None = None
    class_names: tuple[str, ...] | None = None
    data_files: DataFiles = field(default_factory=DataFiles)
    data_dir: str | None = None
    debian_dir: str | None = None
    kaggle_dataset: str | None = None
    kaggle_competition: str | None = None
    id_column: str = "ID"
    target_column: str = "Prediction"
    label_column: str | None = None
    test_id_column: str | None = None
    first_id: int = 0
    metric: str = "accuracy"
    n_folds: int = 5
    fold_scheme: str = "stratified"
    fold_seed: int = 42
    views: tuple[str, ...] | None = None
    hflip: bool = False
    default_models: tuple[str, ...] = ("logreg:pca", "xgb:compact", "mlp", "cnn")
    licence: str = ""
    image_shape: tuple[int, ...] | None = None
    folder: Path | None = None
    labels_from_data: bool = field(default=False, repr=False)  # set by with_labels: the labels were read, not declared

    def offered_views(self) -> tuple[str, ...]:
        from kaggletk.views import VIEWS

        return self.views if self.views is not None else VIEWS.names()

    @property
    def n_classes(self) -> int:
        if self.labels is None:
            raise KaggletkError(f"{self.name}: the label set is known once the data is cached; load the data set first")
        return len(self.labels)

    @property
    def names(self) -> tuple[str, ...]:
        """One display name per class (``class_names``, else the labels as text)."""
        return tuple(self.class_names) if self.class_names is not None else tuple(str(v) for v in self.labels or ())

    def with_labels(self, labels: tuple) -> Competition:
        """This competition with its label set (when it declares none, the one read from the data)."""
        return self if self.labels is not None else dataclasses.replace(self, labels=tuple(labels), labels_from_data=True)

    def reader(self) -> dict[str, str]:
        """The fields that decide how the data files are read, as text: a cache built under others is stale."""
        return {name: repr(None if name == "labels" and self.labels_from_data else getattr(self, name)) for name in READER_FIELDS}

    def to_index(self, values: np.ndarray) -> np.ndarray:
        """Map label values to class indices ``0..n_classes-1`` (int64); values must be valid labels."""
        lookup = {_key(v): i for i, v in enumerate(self.labels)}
        values = np.asarray(values).reshape(-1)
        try:
            return np.fromiter((lookup[_key(v)] for v in values), dtype=np.int64, count=len(values))
        except KeyError as exc:
            raise KaggletkError(f"{self.name}: label {exc.args[0]!r} is not one of the competition's labels") from None

    def to_label(self, indices: np.ndarray) -> np.ndarray:
        """Map class indices back to the competition's label values (int64, or str for text labels)."""
        values = np.asarray(self.labels, dtype=np.int64 if all(isinstance(v, (int, np.integer)) for v in self.labels) else str)
        return values[np.asarray(indices, dtype=np.int64)]

    def submission_slug(self, override: str | None = None) -> str | None:
        """The Kaggle competition to submit to: ``override`` (``-c``), else ``$KAGGLETK_COMPETITION``, else ``kaggle_competition``."""
        return override or os.environ.get("KAGGLETK_COMPETITION") or self.kaggle_competition

    @property
    def definition(self) -> str:
        """The ``competition.py`` file that declares this competition, for messages."""
        return str(self.folder / "competition.py") if self.folder else f"competitions/{self.name}/competition.py"

    def slug_origin(self, override: str | None = None) -> str:
        """Where ``submission_slug(override)`` came from, for messages."""
        if override:
            return "-c/--competition"
        if os.environ.get("KAGGLETK_COMPETITION"):
            return "KAGGLETK_COMPETITION"
        return f"kaggle_competition in {self.definition}"

    def validate(self, source: Path) -> Competition:
        problems = _type_problems(self)
        if problems:  # the checks below assume the types are right
            raise KaggletkError(f"{source}: {'; '.join(problems)}")
        if self.labels is not None:
            if not self.labels:
                problems.append("labels is empty; list the label values, or leave labels out to take them from the data")
            elif not all(isinstance(v, (int, str)) and not isinstance(v, bool) for v in self.labels):
                problems.append("labels must be integers or strings")
            elif len({_key(v) for v in self.labels}) != len(self.labels):
                repeated = next(v for v in self.labels if [_key(w) for w in self.labels].count(_key(v)) > 1)
                problems.append(f"labels lists {repeated!r} more than once; labels must be distinct")
        if self.class_names is not None and self.labels is not None and len(self.class_names) != len(self.labels):
            problems.append(f"class_names has {len(self.class_names)} entries for {len(self.labels)} labels; give one name per label")
        if self.image_shape is not None and (len(self.image_shape) not in (2, 3) or min(self.image_shape) < 1):
            problems.append(f"image_shape {self.image_shape} must be (height, width) or (height, width, channels)")
        if self.kaggle_competition is not None and not _SLUG.match(self.kaggle_competition):
            problems.append(f"kaggle_competition {self.kaggle_competition!r} is not a Kaggle competition slug (the part of "
                            "its address after /c/, e.g. digit-recognizer)")
        if self.kaggle_dataset is not None and not _DATASET.match(self.kaggle_dataset):
            problems.append(f"kaggle_dataset {self.kaggle_dataset!r} must be owner/dataset (e.g. zalando-research/fashionmnist)")
        from kaggletk.folds import FOLD_SCHEMES
        from kaggletk.metrics import METRICS
        from kaggletk.views import VIEWS

        if self.fold_scheme not in FOLD_SCHEMES:
            problems.append(f"fold_scheme {self.fold_scheme!r} is not one of {', '.join(FOLD_SCHEMES)}")
        if self.metric not in METRICS:
            problems.append(f"metric {self.metric!r} is not one of {', '.join(METRICS)}")
        unknown = [v for v in self.views or () if v not in VIEWS]
        if unknown:
            problems.append(f"views {', '.join(map(repr, unknown))} are not registered ({', '.join(VIEWS)})")
        if not 2 <= self.n_folds <= 50:
            problems.append(f"n_folds {self.n_folds} must be between 2 and 50")
        problems += _model_problems(self.default_models)
        if problems:
            raise KaggletkError(f"{source}: {'; '.join(problems)}")
        return self


# Changing any of these in competition.py changes what the data cache holds (it is rebuilt).
READER_FIELDS = ("labels", "data_files", "data_dir", "label_column", "test_id_column", "image_shape", "first_id", "id_column")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,99}$")
_DATASET = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
# field -> (accepted types, how to write it); tuples also accept lists.
_TYPES = {
    "name": ((str,), "a string"), "title": ((str,), "a string"), "metric": ((str,), "a string such as 'accuracy'"),
    "fold_scheme": ((str,), "a string such as 'stratified'"), "id_column": ((str,), "a string"),
    "target_column": ((str,), "a string"), "licence": ((str,), "a string"),
    "label_column": ((str, type(None)), "a column name or None"), "test_id_column": ((str, type(None)), "a column name or None"),
    "data_dir": ((str, os.PathLike, type(None)), "a folder path or None"), "debian_dir": ((str, os.PathLike, type(None)), "a folder path or None"),
    "kaggle_dataset": ((str, type(None)), "'owner/dataset' or None"), "kaggle_competition": ((str, type(None)), "a slug or None"),
    "n_folds": ((int,), "an integer such as 5"), "fold_seed": ((int,), "an integer"), "first_id": ((int,), "an integer"),
    "hflip": ((bool,), "True or False"), "labels": ((tuple, list, type(None)), "a tuple of label values or None"),
    "class_names": ((tuple, list, type(None)), "a tuple of strings or None"), "views": ((tuple, list, type(None)), "a tuple of view names or None"),
    "default_models": ((tuple, list), "a tuple of model names such as ('xgb:compact', 'cnn')"),
    "image_shape": ((tuple, list, type(None)), "(height, width) or (height, width, channels)"),
    "data_files": ((DataFiles,), "a DataFiles(...)"),
}


def _type_problems(comp: Competition) -> list[str]:
    problems = []
    for name, (types, how) in _TYPES.items():
        value = getattr(comp, name)
        wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if wrong:
            problems.append(f"{name}={value!r} must be {how}")
    for name, kind in (("class_names", str), ("views", str), ("default_models", str), ("image_shape", int)):
        value = getattr(comp, name)
        if isinstance(value, (tuple, list)) and not all(isinstance(v, kind) and not isinstance(v, bool) for v in value):
            problems.append(f"{name}={value!r} must hold only {kind.__name__}s")
    return problems


def _model_problems(specs) -> list[str]:
    from kaggletk.models import MODELS
    from kaggletk.views import VIEWS

    problems = []
    for spec in specs:
        model, _, view = spec.partition(":")
        for registry, name, what in ((MODELS, model, "model"), (VIEWS, view, "view")):
            if name and name not in registry:
                close = difflib.get_close_matches(name, list(registry.names()), n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                problems.append(f"default_models {spec!r}: no {what} {name!r}{hint}")
    return problems


def _key(value) -> str:
    """Labels compare as text: 3, np.int64(3) and "3" are one label."""
    return str(value.item() if isinstance(value, np.generic) else value)


def list_competitions(ws: Workspace | None = None) -> list[str]:
    """Names of the competition folders (those holding a ``competition.py``), sorted."""
    ws = ws or workspace()
    if not ws.competitions_dir.is_dir():
        return []
    return sorted(p.parent.name for p in ws.competitions_dir.glob("*/competition.py"))


def load_competition(name: str, ws: Workspace | None = None) -> Competition:
    """Load ``competitions/<name>/competition.py`` and return its ``COMPETITION``.

    Raises ``KaggletkError`` for an unknown or unsafe name (listing the known ones) and for a
    broken ``competition.py`` (naming the file and the problem).
    """
    ws = ws or workspace()
    known = list_competitions(ws)
    if not isinstance(name, str) or "/" in name or "\\" in name or ".." in name or name not in known:
        raise KaggletkError(f"unknown competition {name!r}; known: {', '.join(known) or '(none)'}")
    check_name(name, "competition name")
    path = ws.competitions_dir / name / "competition.py"
    module_name = f"kaggletk_competition_{name}"
    try:
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as exc:  # any error in user code (even sys.exit) is reported as a fix-the-file message
        sys.modules.pop(module_name, None)
        where = ""
        if isinstance(exc, SyntaxError):
            where, exc = f"line {exc.lineno}: ", SyntaxError(exc.msg)
        else:
            import traceback

            frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == str(path)]
            where = f"line {frames[-1].lineno}: " if frames else ""
            unexpected = re.search(r"unexpected keyword argument '(\w+)'", str(exc)) if isinstance(exc, TypeError) else None
            if unexpected:
                fields = [f.name for f in dataclasses.fields(Competition) if f.name not in ("folder", "labels_from_data")]
                close = difflib.get_close_matches(unexpected.group(1), fields, n=1)
                raise KaggletkError(f"{path}: {where}Competition has no field {unexpected.group(1)!r}"
                                    f"{f' (did you mean {close[0]}?)' if close else ''}; fix the file") from exc
        raise KaggletkError(f"{path}: {where}cannot be loaded ({type(exc).__name__}: {exc}); fix the file") from exc
    comp = getattr(module, "COMPETITION", None)
    if not isinstance(comp, Competition):
        raise KaggletkError(f"{path}: must define COMPETITION = Competition(...); fix the file")
    if comp.name != name:
        raise KaggletkError(f"{path}: COMPETITION.name is {comp.name!r} but the folder is {name!r}; make them equal")
    return dataclasses.replace(comp, folder=path.parent).validate(path)
