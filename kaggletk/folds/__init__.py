"""Folds: computed once per competition and scheme, saved, and identified by a hash."""

from kaggletk.folds._base import Folds, fold_hash
from kaggletk.folds.schemes import assign_folds
from kaggletk.folds.store import folds_path, load_folds

__all__ = ["Folds", "assign_folds", "fold_hash", "folds_path", "load_folds"]
