"""Folds: computed once per competition and scheme, saved, and identified by a hash; schemes registered by name."""

from kaggletk._registry import Registry
from kaggletk.folds._base import Folds, fold_hash
from kaggletk.folds.schemes import FoldScheme, GroupScheme, RandomScheme, StratifiedScheme, assign_folds
from kaggletk.folds.store import folds_path, load_folds

FOLD_SCHEMES: Registry[type[FoldScheme]] = Registry("fold scheme", "--scheme")
FOLD_SCHEMES.register("stratified", StratifiedScheme)
FOLD_SCHEMES.register("group", GroupScheme)
FOLD_SCHEMES.register("random", RandomScheme)

__all__ = ["FOLD_SCHEMES", "FoldScheme", "Folds", "assign_folds", "fold_hash", "folds_path", "load_folds"]
