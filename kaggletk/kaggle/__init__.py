"""The Kaggle client: the official ``kaggle`` package (imported lazily, in ``_client``), wrapped with
credentials, retries and one-line errors. It knows slugs and files, not kaggletk's competitions or runs."""

from kaggletk.kaggle._api import RemoteSubmission, SubmitResponse, download_files, list_submissions, submit_file
from kaggletk.kaggle._client import credentials_help, redact

__all__ = ["RemoteSubmission", "SubmitResponse", "credentials_help", "download_files", "list_submissions", "redact",
           "submit_file"]
