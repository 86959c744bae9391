"""``mean``: the plain average of the runs' probabilities (nothing fitted, so honest by construction)."""

from __future__ import annotations

from kaggletk.blend._base import BlendInput, BlendMethod, BlendOutput


class MeanBlend(BlendMethod):
    name = "mean"

    def blend(self, data: BlendInput) -> BlendOutput:
        return BlendOutput(data.oof.mean(axis=0), data.test.mean(axis=0), {"weights": {n: 1 / len(data.runs) for n in data.names}})
