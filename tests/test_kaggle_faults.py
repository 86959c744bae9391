"""Kaggle under faults, through the real ``kaggle`` client against the fake server (``tests/fake_kaggle.py``).

Each fault of issue 21: a reply lost after the submission was created (an error answer, a stall
past the time limit, a dropped connection), a 5xx before the create, a server that accepts the
connection and never answers, a slow or broken download, a kaggle.json that is there but broken.
The user stories: never two submissions for one ``submit``, every call ends within its time limit
with the usual retry or one line, and the key is never printed or written.

Time limits are set to a second here; assertions are about how a command ends, not how fast, and a
module-wide pytest timeout turns a hang into a failure.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import pytest

from kaggletk.errors import KaggletkError
from tests.conftest import run_cli
from tests.helpers import run_kaggletk
from tests.test_kaggle import (SLUG, _assert_no_secret, _error_line, _one_command_per_cli_call, _one_line_error,  # noqa: F401
                               _sign_zip, cnn_submission, creds, fake, kaggle_env, sign_full)

pytestmark = pytest.mark.timeout(180)

LIMIT_ENV = ("KAGGLETK_TIMEOUT_SECONDS", "KAGGLETK_TRANSFER_TIMEOUT_SECONDS", "KAGGLETK_CONNECT_TIMEOUT_SECONDS")


@pytest.fixture
def short_limits(monkeypatch):
    """Every time limit one second, so that a stalled server ends a test soon."""
    for name in LIMIT_ENV:
        monkeypatch.setenv(name, "1")


def _submit(path: Path, message: str = "cnn, CV 0.9912", *extra: str) -> tuple[int, str, str]:
    return run_cli("submit", "sign_mnist", str(path), "-m", message, "-c", SLUG, *extra)


# -- a lost reply after CreateSubmission -------------------------------------------------------

@pytest.mark.parametrize("fault", ["error", "stall", "hang_up"])
def test_a_reply_lost_after_the_create_is_found_in_the_list_and_not_submitted_again(creds, fake, cnn_submission,
                                                                                   short_limits, fault):
    if fault == "error":
        fake.fail("CreateSubmission", 500, after=True, message="Internal error")
    else:
        getattr(fake, fault)("CreateSubmission", after=True)
    status, out, err = _submit(cnn_submission)
    assert status == 0, err
    assert len(fake.created) == 1 and len(fake.calls("CreateSubmission")) == 1  # one submission, never a second
    assert "Kaggle: reply lost" in out and "the submission is listed as ref 1001" in out and "submission ref 1001" in out
    assert "checking Kaggle's list of submissions" in err
    _assert_no_secret(fake, out, err, root=creds["project"])


def test_a_create_answered_with_5xx_and_not_listed_is_tried_once_more(creds, fake, cnn_submission):
    fake.fail("CreateSubmission", 503, message="Service Unavailable")  # refused before creating anything
    status, out, err = _submit(cnn_submission)
    assert status == 0, err
    assert len(fake.calls("CreateSubmission")) == 2 and len(fake.created) == 1
    assert "Kaggle lists no such submission, so nothing was created; creating it once more" in err
    assert "Successfully submitted" in out and "reply lost" not in out


def test_a_create_that_times_out_and_is_not_listed_is_not_repeated(creds, fake, cnn_submission, short_limits):
    fake.stall("CreateSubmission")  # the request is held and never processed
    status, out, err = _submit(cnn_submission)
    line = _error_line(status, err)
    assert "did not answer the create (localhost did not answer within 1s)" in line and "nothing was created" in line
    assert f"https://www.kaggle.com/competitions/{SLUG}/submissions" in line
    assert len(fake.calls("CreateSubmission")) == 1 and fake.created == [] and out == ""


def test_a_lost_reply_with_an_unreadable_list_says_where_to_look_and_does_not_submit_again(creds, fake, cnn_submission):
    fake.fail("CreateSubmission", 500, after=True, message="Internal error")
    fake.fail("ListSubmissions", 503, times=10)
    status, _, err = _submit(cnn_submission)
    line = _error_line(status, err)
    assert "did not confirm the submission (HTTP 500: Internal error)" in line and "its list cannot be read" in line
    assert f"look at https://www.kaggle.com/competitions/{SLUG}/submissions before submitting again" in line
    assert len(fake.calls("CreateSubmission")) == 1 and len(fake.created) == 1


# -- a 5xx before CreateSubmission -------------------------------------------------------------

def test_5xx_before_the_create_is_retried_and_makes_one_submission(creds, fake, cnn_submission):
    fake.fail("StartSubmissionUpload", 500, times=2, message="Internal error")
    fake.fail("upload", 502)
    status, out, err = _submit(cnn_submission)
    assert status == 0, err
    assert len(fake.calls("StartSubmissionUpload")) == 4 and len(fake.calls("upload")) == 2
    assert len(fake.calls("CreateSubmission")) == 1 and len(fake.created) == 1
    assert err.count("retrying in") == 3


# -- a stalled connection ----------------------------------------------------------------------

def test_a_stalled_server_ends_submit_at_the_time_limit_with_one_line(creds, fake, cnn_submission, short_limits):
    fake.stall("StartSubmissionUpload", times=10)
    started = time.monotonic()
    status, out, err = _submit(cnn_submission)
    elapsed = time.monotonic() - started
    line = _error_line(status, err)
    assert "failed 4 times (localhost did not answer within 1s)" in line and "KAGGLETK_TIMEOUT_SECONDS" in line
    assert err.count("did not answer within 1s; retrying") == 3 and fake.created == [] and out == ""
    assert elapsed < 60, elapsed  # 4 waits of 1 s and short pauses; before, it never ended


def test_a_stalled_server_ends_the_kaggletk_process_too(creds, fake, cnn_submission, short_limits):
    fake.stall("StartSubmissionUpload", times=10)
    result = run_kaggletk("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG, timeout=120)
    line = _error_line(result.returncode, result.stderr)
    assert "failed 4 times (localhost did not answer within 1s)" in line and fake.created == []
    _assert_no_secret(fake, result.stdout, result.stderr)


def test_a_stalled_limits_call_is_skipped_with_a_notice(creds, fake, cnn_submission, short_limits):
    fake.stall("GetSubmissionLimits")
    status, out, err = _submit(cnn_submission)
    assert status == 0, err
    assert "cannot read today's submission limit (localhost did not answer within 1s); submitting anyway" in err
    assert len(fake.created) == 1 and "left today" not in out


def test_a_stalled_listing_ends_with_one_line(creds, fake, project, short_limits):
    fake.stall("ListSubmissions", times=10)
    status, out, err = run_cli("submissions", "sign_mnist", "-c", SLUG, "--json")
    assert "listing submissions of course-sign-mnist: failed 4 times (localhost did not answer" in _error_line(status, err)
    assert out == ""


def test_a_time_limit_that_is_not_a_number_is_one_line_naming_the_variable(creds, fake, cnn_submission, monkeypatch):
    monkeypatch.setenv("KAGGLETK_TIMEOUT_SECONDS", "soon")
    status, _, err = _submit(cnn_submission)
    assert "KAGGLETK_TIMEOUT_SECONDS='soon': use a number of seconds between 0.1 and 3600, e.g. 60" in _one_line_error(status, err)
    assert fake.requests == []


# -- downloads ---------------------------------------------------------------------------------

def _download(tmp_path: Path, notes: list, events: list) -> Path:
    from kaggletk.kaggle import download_files

    return download_files(tmp_path / "dl", competition=SLUG, origin="test", notify=notes.append,
                          progress=lambda *event: events.append(event))


def test_a_slow_download_arrives_with_progress_in_bytes(creds, fake, tmp_path, short_limits):
    fake.archive = _sign_zip()
    fake.slow_download(chunk_size=len(fake.archive) // 6 + 1, delay=0.3)  # about 2 s in all, each piece within 1 s
    notes, events = [], []
    files = _download(tmp_path, notes, events)
    assert (files / "sign_mnist_train.csv").is_file() and notes == []  # no retry: the limit is per piece
    total = len(fake.archive)
    assert {name for name, _, _ in events} == {f"{SLUG}.zip"} and events[-1] == (f"{SLUG}.zip", total, total)
    assert [done for _, done, _ in events] == sorted(done for _, done, _ in events) and len(events) >= 6


@pytest.mark.parametrize("kind, reason", [("stall", "did not answer within 1s"), ("hang_up", "ChunkedEncodingError")])
def test_a_download_broken_midway_is_retried_and_the_retry_is_told(creds, fake, project, short_limits, monkeypatch,
                                                                   kind, reason):
    from kaggletk.callbacks import Recorder
    from kaggletk.data import fetch

    monkeypatch.setenv("KAGGLETK_COMPETITION", SLUG)
    fake.archive = _sign_zip()
    fake.break_download(kind, after_bytes=len(fake.archive) // 3)
    recorder = Recorder()
    result = fetch("sign_mnist", callbacks=[recorder])
    assert result.dataset.n_train == 200 and len(fake.calls("download")) == 2
    notes = [args[0] for name, args in recorder.events if name == "on_note"]
    assert len(notes) == 1 and f"downloading Kaggle competition {SLUG}" in notes[0] and reason in notes[0]
    assert "retrying in" in notes[0] and tempfile.gettempdir() not in notes[0]


def test_a_server_error_on_the_file_itself_is_retried(creds, fake, tmp_path):
    fake.archive = _sign_zip()
    fake.fail("download", 502)
    notes, events = [], []
    assert (_download(tmp_path, notes, events) / "sign_mnist_test.csv").is_file()
    assert len(fake.calls("download")) == 2 and "HTTP 502" in notes[0]


def test_a_damaged_download_is_named_as_the_competition_calls_it(creds, fake, project, monkeypatch):
    monkeypatch.setenv("KAGGLETK_COMPETITION", SLUG)
    fake.archive = b"PK\x03\x04" + b"\x00" * 200  # a zip's first bytes, then nothing of one
    status, out, err = run_cli("fetch", "sign_mnist")
    line = _one_line_error(status, err)
    assert f"{SLUG}.zip from Kaggle competition {SLUG}: not a valid zip archive" in line
    assert tempfile.gettempdir() not in line and "kaggletk-download" not in line
    assert not (project / "competitions" / "sign_mnist" / "data" / "full").exists()


def test_kaggletk_fetch_prints_the_retries_of_a_download(creds, fake, project, monkeypatch, short_limits):
    monkeypatch.setenv("KAGGLETK_COMPETITION", SLUG)
    fake.archive = _sign_zip()
    fake.break_download("hang_up", after_bytes=100)
    status, out, err = run_cli("fetch", "sign_mnist")
    assert status == 0, err
    assert "retrying in" in err


def test_the_download_bar_shows_bytes_on_a_terminal_only():
    import io

    from rich.console import Console

    from kaggletk.cli.kaggle import DownloadProgress

    screen = io.StringIO()
    with DownloadProgress(console=Console(file=screen, force_terminal=True, width=100)) as bar:
        for done in (0, 40_000, 80_000, 40_000, 120_000):  # the fourth starts a retry again
            bar.on_download("train.csv.zip", done, 120_000)
    shown = screen.getvalue()
    assert "train.csv.zip" in shown and "120.0/120.0 kB" in shown
    piped = io.StringIO()
    with DownloadProgress(console=Console(file=piped, force_terminal=False)) as bar:
        bar.on_download("train.csv.zip", 10, 20)
    assert piped.getvalue() == ""


# -- a kaggle.json that is there but broken ----------------------------------------------------

BROKEN_KEY = "brokenkey-7777aaaa"


@pytest.mark.parametrize("content, problem", [
    ('{"username": "student", "key": "%s"' % BROKEN_KEY, "is not valid JSON (line 1: Expecting ',' delimiter)"),
    ('{"username": "student", "kee": "%s"}' % BROKEN_KEY, "has no 'key'"),
    ('["student", "%s"]' % BROKEN_KEY, "is not a JSON object"),
])
def test_a_broken_kaggle_json_is_named_as_there_and_broken(kaggle_env, fake, cnn_submission, content, problem):
    kaggle_json = kaggle_env["config"] / "kaggle.json"
    kaggle_json.write_text(content)
    kaggle_json.chmod(0o600)
    status, out, err = _submit(cnn_submission)
    line = _one_line_error(status, err)
    assert f"{kaggle_json} exists but {problem}" in line
    assert "fix it or download a new one from https://www.kaggle.com/settings" in line
    assert "no Kaggle credentials found" not in line and "save the kaggle.json" not in line
    assert BROKEN_KEY not in out + err and fake.created == []
    _assert_no_secret(fake, out, err, root=kaggle_env["project"])


def test_a_broken_kaggle_json_does_not_matter_when_the_environment_has_credentials(creds, fake, project):
    (creds["config"] / "kaggle.json").write_text("{not json")
    status, out, err = run_cli("submissions", "sign_mnist", "-c", SLUG, "--csv")
    assert status == 0, err
    assert out.startswith("ref,fileName,")


def test_competition_info_retries_and_gives_up_in_one_line(creds, fake, short_limits):
    from kaggletk.kaggle import competition_info

    fake.stall("ListCompetitions", times=10)
    notes = []
    with pytest.raises(KaggletkError, match=r"reading competition course-sign-mnist: failed 4 times \(localhost did not"):
        competition_info(SLUG, notify=notes.append)
    assert len(notes) == 3 and all("retrying in" in n for n in notes)


def test_no_output_or_file_ever_holds_the_key(creds, fake, cnn_submission, short_limits):
    """The faults above, one after another, in one project: the key is in no output and no file."""
    fake.fail("CreateSubmission", 500, after=True)
    outputs = list(_submit(cnn_submission, "first")[1:])
    fake.stall("StartSubmissionUpload", times=10)
    outputs += _submit(cnn_submission, "second")[1:]
    outputs += run_cli("submissions", "sign_mnist", "-c", SLUG, "--json")[1:]
    assert len(fake.created) == 1 and json.loads(outputs[-2])[0]["description"] == "first"
    _assert_no_secret(fake, *outputs, root=creds["project"])
