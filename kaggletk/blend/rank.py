"""``rank``: average of per-class ranks, for runs whose probabilities are calibrated differently.

Each run's probabilities for a class are replaced by their rank among the rows (scaled to [0, 1]),
the ranks are averaged over runs, and each row is normalised to sum to 1.
"""

from __future__ import annotations

import numpy as np
from kaggletk.blend._base import BlendInput, BlendMethod, BlendOutput


def rank_average(stack: np.ndarray) -> np.ndarray:
    """(R, n, C) probabilities -> (n, C) rows summing to 1."""
    from scipy.stats import rankdata  # here: SciPy takes a second to import, which `kaggletk --help` must not pay

    ranks = rankdata(stack, axis=1) / stack.shape[1]
    mean = ranks.mean(axis=0)
    return (mean / mean.sum(axis=1, keepdims=True)).astype(np.float32)


class RankBlend(BlendMethod):
    name = "rank"

    def blend(self, data: BlendInput) -> BlendOutput:
        return BlendOutput(rank_average(data.oof), rank_average(data.test), {"weights": {n: 1 / len(data.runs) for n in data.names}})
