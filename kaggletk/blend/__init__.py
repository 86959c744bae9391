"""Blending and stacking of OOF predictions; one file per method, registered by name, all scored on the same folds."""

from kaggletk._registry import Registry
from kaggletk.blend._base import BlendInput, BlendMethod, BlendOutput, check_combinable
from kaggletk.blend._run import BlendResult, make_method, run_blend, select_runs
from kaggletk.blend.hill import HillClimbBlend
from kaggletk.blend.mean import MeanBlend
from kaggletk.blend.rank import RankBlend
from kaggletk.blend.stack import STACKERS, StackBlend

BLEND_METHODS: Registry[type[BlendMethod]] = Registry("blend method", "--method")
BLEND_METHODS.register("mean", MeanBlend)
BLEND_METHODS.register("rank", RankBlend)
BLEND_METHODS.register("hill", HillClimbBlend)
BLEND_METHODS.register("stack", StackBlend)

__all__ = ["BLEND_METHODS", "STACKERS", "BlendInput", "BlendMethod", "BlendOutput", "BlendResult", "check_combinable",
           "make_method", "run_blend", "select_runs"]
