"""Submissions: files written and checked against the competition's format, scored locally, and sent to Kaggle."""

from kaggletk.submission._files import (ReadSubmission, SubmissionFormat, SubmissionScore, dataset_of, no_holdout_message,
                                        predict_run, read_submission, score_submission, submission_format, submission_text,
                                        validate_submission, write_submission)
from kaggletk.submission._kaggle import KaggleSubmission, SubmissionList, SubmitResult, list_submissions, submit

__all__ = ["KaggleSubmission", "ReadSubmission", "SubmissionFormat", "SubmissionList", "SubmissionScore", "SubmitResult",
           "dataset_of", "list_submissions", "no_holdout_message", "predict_run", "read_submission", "score_submission",
           "submission_format", "submission_text", "submit", "validate_submission", "write_submission"]
