"""Data: readers for every format users meet, and the canonical cache they feed.

``read_source`` reads a folder (IDX, CSV, HDF5 or ``.npz``); ``fetch`` builds the cache;
``load_dataset`` returns a ``Dataset`` for the rest of the pipeline.
"""

from kaggletk.data._base import RawData
from kaggletk.data.cache import Dataset, FetchResult, fetch, load_dataset, load_sample, read_cache, write_cache
from kaggletk.data.source import read_source

__all__ = ["Dataset", "FetchResult", "RawData", "fetch", "load_dataset", "load_sample", "read_cache", "read_source", "write_cache"]
