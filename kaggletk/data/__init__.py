"""Data: readers for every format users meet, the canonical cache they feed, and where the data comes from.

``read_source`` reads a folder (IDX, CSV, HDF5 or ``.npz``); ``fetch`` finds a source and builds the
cache; ``load_dataset`` returns a ``Dataset`` for the rest of the pipeline.
"""

from kaggletk.data._base import RawData
from kaggletk.data._sources import DATA_CHOICES, FetchResult, fetch, load_dataset, load_sample
from kaggletk.data.cache import VARIANTS, Dataset, read_cache, write_cache
from kaggletk.data.source import read_source

__all__ = ["DATA_CHOICES", "VARIANTS", "Dataset", "FetchResult", "RawData", "fetch", "load_dataset", "load_sample", "read_cache",
           "read_source", "write_cache"]
