"""Submissions: files written and checked against the competition's format, scored locally, and sent to Kaggle."""

from kaggletk.submission._files import (SubmissionScore, check_frame, dataset_of, predict_run, read_submission, score_submission,
                                        submission_frame, validate_submission, write_submission)
from kaggletk.submission._kaggle import KaggleSubmission, SubmissionList, SubmitResult, list_submissions, submit

__all__ = ["KaggleSubmission", "SubmissionList", "SubmissionScore", "SubmitResult", "check_frame", "dataset_of",
           "list_submissions", "predict_run", "read_submission", "score_submission", "submission_frame", "submit",
           "validate_submission", "write_submission"]
