"""The Kaggle client: the official ``kaggle`` package (imported lazily, in ``_client``), wrapped with
credentials, time limits, retries and one-line errors. It knows slugs and files, not kaggletk's
competitions or runs."""

from kaggletk.kaggle._api import (CompetitionInfo, Progress, RemoteSubmission, SubmitResponse, competition_info, download_files,
                                  list_submissions, submit_file, wait_for_submission)
from kaggletk.kaggle._client import credentials_help, redact

__all__ = ["CompetitionInfo", "Progress", "RemoteSubmission", "SubmitResponse", "competition_info", "credentials_help",
           "download_files", "list_submissions", "redact", "submit_file", "wait_for_submission"]
