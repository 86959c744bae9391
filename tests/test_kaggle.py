"""Kaggle integration through the real ``kaggle`` client, against a fake Kaggle server in-process.

The client is the installed kaggle 2.x; only its host is redirected: ``KAGGLE_API_ENVIRONMENT=LOCALHOST``
makes it call ``http://localhost/api/v1/...`` and ``HTTP_PROXY`` sends that to the fake server
(``tests/fake_kaggle.py``). HOME and KAGGLE_CONFIG_DIR point into the test's temporary folder, so
the real ``~/.kaggle`` is never read or written.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import stat
import sys
import uuid
import zipfile
from pathlib import Path

import pytest

from kaggletk.errors import KaggletkError
from tests.conftest import run_cli
from tests.fake_kaggle import FakeKaggle
from tests.helpers import REPO, run_kaggletk

SIGN_SAMPLE = REPO / "competitions" / "sign_mnist" / "sample"
SLUG = "course-sign-mnist"
N_TRAIN, N_TEST = 200, 100
_CLIENT_ENV = ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN", "KAGGLE_COMPETITION", "KAGGLE_KERNEL_RUN_TYPE",
               "KAGGLE_PROXY", "VERBOSE", "VERBOSE_OUTPUT", "NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy",
               "ALL_PROXY", "all_proxy")


# -- fixtures ------------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def _one_command_per_cli_call(monkeypatch):
    """The CLI shows each notice once per command; here each ``run_cli`` is a command of its own."""
    from kaggletk.cli import _common

    monkeypatch.setattr(_common, "_noted", set())


@pytest.fixture
def fake():
    server = FakeKaggle().start()
    yield server
    server.stop()


@pytest.fixture
def kaggle_env(project, tmp_path, monkeypatch, fake):
    """Point the real client at the fake server, with no credentials yet and no real home."""
    home, config = tmp_path / "home", tmp_path / "kaggle-config"
    home.mkdir()
    config.mkdir()
    for name in _CLIENT_ENV:
        monkeypatch.delenv(name, raising=False)
    env = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "KAGGLE_CONFIG_DIR": str(config),
           "KAGGLE_API_ENVIRONMENT": "LOCALHOST", "HTTP_PROXY": fake.proxy, "http_proxy": fake.proxy,
           "KAGGLETK_RETRY_BASE_SECONDS": "0.01"}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # The client reads its config folder and host once, at import; this test process may have
    # imported it already (for another test), so its snapshot is re-pointed here.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        from kaggle.api.kaggle_api_extended import KaggleApi
    monkeypatch.setattr(KaggleApi, "config_dir", str(config))
    monkeypatch.setattr(KaggleApi, "config", str(config / "kaggle.json"))
    monkeypatch.setattr(KaggleApi, "args", ["--local"])
    return {"home": home, "config": config, "env": env, "project": project}


@pytest.fixture
def creds(kaggle_env, monkeypatch, fake):
    monkeypatch.setenv("KAGGLE_USERNAME", fake.username)
    monkeypatch.setenv("KAGGLE_KEY", fake.key)
    return kaggle_env


def _csv_head(name: str, rows: int) -> bytes:
    """The header and the first ``rows`` rows of a real Sign Language MNIST CSV."""
    with gzip.open(SIGN_SAMPLE / f"{name}.csv.gz", "rt") as fh:
        return "".join(next(fh) for _ in range(rows + 1)).encode()


def _sign_zip(extra: dict[str, bytes] | None = None) -> bytes:
    """A zip laid out like Kaggle's datamunge/sign-language-mnist: each CSV at the top and in its own folder."""
    train, test = _csv_head("sign_mnist_train", N_TRAIN), _csv_head("sign_mnist_test", N_TEST)
    members = {"sign_mnist_train.csv": train, "sign_mnist_test.csv": test, "sign_mnist_train/sign_mnist_train.csv": train,
               "sign_mnist_test/sign_mnist_test.csv": test, "amer_sign2.png": b"\x89PNG not really"}
    members.update(extra or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def sign_full(project, tmp_path):
    """A small full-data cache of sign_mnist (200 train, 100 test real rows), as after `kaggletk fetch`."""
    from kaggletk.data import fetch

    folder = tmp_path / "sign-data"
    folder.mkdir()
    (folder / "sign_mnist_train.csv").write_bytes(_csv_head("sign_mnist_train", N_TRAIN))
    (folder / "sign_mnist_test.csv").write_bytes(_csv_head("sign_mnist_test", N_TEST))
    return fetch("sign_mnist", folder).dataset


def _write_submission(project: Path, name: str, labels, ids=None) -> Path:
    path = project / "submissions" / "sign_mnist" / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    ids = range(len(labels)) if ids is None else ids
    path.write_text("ID,Prediction\n" + "".join(f"{i},{int(y)}\n" for i, y in zip(ids, labels)))
    return path


def _write_run(project: Path, name: str, oof_accuracy: float) -> None:
    from kaggletk.store import CvSummary, RunManifest

    folder = project / "oof" / "sign_mnist" / name
    folder.mkdir(parents=True)
    manifest = RunManifest(run=name, competition="sign_mnist", kind="model", model="cnn", view="image", data="full",
                           data_fingerprint="0" * 16, fold_scheme="group", n_folds=5, fold_seed=42, fold_hash="0" * 12,
                           status="complete", cv=CvSummary({}, {}, {"accuracy": oof_accuracy, "macro_f1": 0.9}))
    (folder / "manifest.json").write_text(json.dumps(manifest.to_json()))


@pytest.fixture
def cnn_submission(project, sign_full):
    """submissions/sign_mnist/cnn-image.csv (valid) and its run cnn-image with CV 0.9912."""
    _write_run(project, "cnn-image", 0.9912)
    return _write_submission(project, "cnn-image", sign_full.holdout_labels())


def _assert_no_secret(fake: FakeKaggle, *texts: str, root: Path | None = None) -> None:
    """Neither the key nor a token appears in what was printed or in any file written under ``root``."""
    secrets = [fake.key, *fake.tokens]
    for text in texts:
        for secret in secrets:
            assert secret not in text
    if root is not None:
        for path in root.rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                for secret in secrets:
                    assert secret.encode() not in data, path


def _one_line_error(status: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2 and len(lines) == 1 and lines[0].startswith("kaggletk: error: "), err
    assert "Traceback" not in err
    return lines[0]


def _error_line(status: int, err: str) -> str:
    """The one error line, after any notices (retries, what Kaggle's list showed)."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert status == 2 and lines[-1].startswith("kaggletk: error: ") and "Traceback" not in err, err
    assert all(line.startswith("kaggletk: ") and "error:" not in line for line in lines[:-1]), err
    return lines[-1]


# -- submit --------------------------------------------------------------------------------

def test_submit_sends_the_file_bytes_competition_and_message(creds, fake, cnn_submission):
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "cnn on images, CV 0.9912", "-c", SLUG)
    assert status == 0, err
    assert "Successfully submitted to Course Sign MNIST" in out and "4 submissions left today" in out
    assert "from run cnn-image (CV 0.9912)" in out
    start, = fake.calls("StartSubmissionUpload")
    assert start.json["competitionName"] == SLUG and start.json["fileName"] == "cnn-image.csv"
    assert start.json["contentLength"] == cnn_submission.stat().st_size
    upload, = fake.calls("upload")
    assert upload.body == cnn_submission.read_bytes()
    create, = fake.calls("CreateSubmission")
    assert create.json == {"competitionName": SLUG, "blobFileTokens": upload.name,
                           "submissionDescription": "cnn on images, CV 0.9912"}
    assert start.headers["authorization"].startswith("Basic ")
    _assert_no_secret(fake, out, err, root=creds["project"])


def test_submit_validates_the_file_before_contacting_kaggle(creds, fake, project, sign_full):
    labels = sign_full.holdout_labels().copy()
    labels[3] = 9  # J is not a Sign MNIST label
    bad = _write_submission(project, "bad", labels)
    status, _, err = run_cli("submit", "sign_mnist", str(bad), "-m", "x", "-c", SLUG)
    line = _one_line_error(status, err)
    assert "bad.csv" in line and "line 5" in line and "Prediction" in line
    short = _write_submission(project, "short", sign_full.holdout_labels()[:50])
    status, _, err = run_cli("submit", "sign_mnist", str(short), "-m", "x", "-c", SLUG)
    assert "50 rows, expected 100" in _one_line_error(status, err)
    assert fake.requests == []


def test_submit_refuses_without_a_competition_slug_and_says_where_to_set_it(creds, fake, cnn_submission):
    status, _, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "first")
    line = _one_line_error(status, err)
    assert "kaggle_competition" in line and str(Path("competitions") / "sign_mnist" / "competition.py") in line
    assert "--competition SLUG" in line and "KAGGLETK_COMPETITION" in line
    assert fake.requests == []


def test_submit_without_full_data_refuses_rather_than_checking_against_the_sample(creds, fake, project):
    path = _write_submission(project, "sample-made", [0] * 1000)
    status, _, err = run_cli("submit", "sign_mnist", str(path), "-m", "x", "-c", SLUG)
    assert "kaggletk fetch sign_mnist" in _one_line_error(status, err)
    assert fake.requests == []


def test_dry_run_validates_and_sends_nothing_even_without_credentials(kaggle_env, fake, cnn_submission, monkeypatch):
    monkeypatch.setenv("KAGGLETK_COMPETITION", SLUG)
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "try", "--dry-run")
    assert status == 0, err
    assert "dry run" in out and "100 rows" in out and SLUG in out and "'try'" in out and "Nothing was sent" in out
    assert fake.requests == []


def test_submit_retries_server_errors_then_succeeds(creds, fake, cnn_submission):
    fake.fail("StartSubmissionUpload", 503, times=2, message="Service Unavailable")
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "retry", "-c", SLUG)
    assert status == 0, err
    assert len(fake.calls("StartSubmissionUpload")) == 3 and len(fake.calls("CreateSubmission")) == 1
    assert err.count("HTTP 503: Service Unavailable; retrying") == 2
    assert "Successfully submitted" in out


def test_a_create_failing_twice_stops_saying_nothing_was_created(creds, fake, cnn_submission):
    fake.fail("CreateSubmission", 500, times=10, message="Internal error")
    status, _, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG)
    line = _error_line(status, err)
    assert "failed to create the submission 2 times (HTTP 500: Internal error)" in line and "nothing was created" in line
    assert len(fake.calls("CreateSubmission")) == 2 and fake.created == []  # retried once, after the list showed none
    assert err.count("checking Kaggle's list of submissions") == 2 and "creating it once more" in err
    _assert_no_secret(fake, err, root=creds["project"])


def test_wrong_key_is_one_line_and_never_printed(creds, fake, cnn_submission, monkeypatch):
    monkeypatch.setenv("KAGGLE_KEY", "wrong-key-feedbeef")
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG)
    line = _one_line_error(status, err)
    assert "refused the credentials (401: Unauthenticated)" in line and "KAGGLE_KEY" in line
    assert "wrong-key-feedbeef" not in out + err
    assert fake.calls("CreateSubmission") == []


def test_unknown_competition_is_one_line_naming_the_slug_and_where_it_came_from(creds, fake, cnn_submission):
    status, _, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", "no-such-comp")
    line = _one_line_error(status, err)
    assert "no competition 'no-such-comp'" in line and "404: Competition not found" in line and "--competition" in line
    assert len(fake.calls("StartSubmissionUpload")) == 1  # a 404 is not retried


def test_a_refused_upload_is_one_line_saying_nothing_was_submitted(creds, fake, cnn_submission):
    fake.upload_status = 400
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG)
    line = _error_line(status, err)
    assert "the upload of cnn-image.csv was refused (HTTP 400)" in line and "nothing was submitted" in line
    assert "Successfully" not in out
    assert len(fake.calls("upload")) == 1 and fake.calls("CreateSubmission") == []  # a 4xx is not retried


def test_an_upload_answered_with_5xx_is_sent_again(creds, fake, cnn_submission):
    fake.fail("upload", 503, times=2)
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG)
    assert status == 0, err
    assert len(fake.calls("upload")) == 3 and len(fake.calls("CreateSubmission")) == 1 and len(fake.created) == 1
    assert err.count("HTTP 503: fake failure 503; retrying") == 2


def test_submit_takes_the_file_as_dash_f_like_the_kaggle_cli(creds, fake, cnn_submission):
    status, out, err = run_cli("submit", "sign_mnist", "-f", str(cnn_submission), "-m", "with -f", "-c", SLUG)
    assert status == 0, err
    assert fake.calls("StartSubmissionUpload")[0].json["fileName"] == "cnn-image.csv"
    status, _, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-f", "other.csv", "-m", "x", "-c", SLUG)
    assert "name two files" in _one_line_error(status, err)
    status, _, err = run_cli("submit", "sign_mnist", "-m", "x", "-c", SLUG)
    assert "give it as FILE or -f FILE" in _one_line_error(status, err)
    assert len(fake.created) == 1


def test_submit_tells_the_submissions_left_before_uploading(creds, fake, cnn_submission):
    fake.made_today = 2
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG)
    assert status == 0, err
    assert "3 submissions left today, this one included" in err and "2 submissions left today" in out
    assert fake.requests[0].name == "GetSubmissionLimits"  # read before anything is sent


def test_no_submissions_left_refuses_before_uploading(creds, fake, cnn_submission):
    fake.made_today = 5
    status, _, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG)
    line = _one_line_error(status, err)
    assert "no submissions left (5 made today; Kaggle's daily count starts again at 00:00 UTC); nothing was sent" in line
    assert fake.calls("StartSubmissionUpload") == [] and fake.calls("upload") == []


# -- submit --wait ---------------------------------------------------------------------------

def test_submit_wait_prints_the_public_score_beside_the_cv(creds, fake, cnn_submission):
    fake.public_score = "0.97000"
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "wait", "-c", SLUG, "--wait")
    assert status == 0, err
    assert "submission ref 1001" in out and "public score 0.97000 beside CV 0.9912, public - CV -0.0212" in out
    assert "submission 1001: complete" in err
    _assert_no_secret(fake, out, err, root=creds["project"])


def test_wait_polls_with_backoff_and_tells_each_status(creds, fake, cnn_submission):
    from kaggletk.callbacks import Recorder
    from kaggletk.submission import submit

    fake.polls_to_score = 3
    recorder = Recorder()
    result = submit("sign_mnist", cnn_submission, "poll", competition=SLUG).wait_for_score(
        timeout=60, poll_interval=0.05, callbacks=[recorder])
    assert (result.status, result.public_score, result.cv) == ("complete", 0.98, 0.9912)
    notes = [args[0] for name, args in recorder.events if name == "on_note"]
    assert notes == ["submission 1001: pending", "submission 1001: complete"]
    assert len(fake.calls("ListSubmissions")) == 3


def test_submit_wait_ends_at_its_timeout_saying_it_was_submitted(creds, fake, cnn_submission):
    fake.polls_to_score = None  # never scored
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG, "--wait",
                               "--wait-timeout", "1")
    line = _error_line(status, err)
    assert "submitted" in out and "still pending on Kaggle after 1s; it was submitted" in line
    assert f"kaggletk submissions sign_mnist -c {SLUG}" in line and len(fake.created) == 1


def test_submit_wait_reports_a_scoring_error_in_one_line(creds, fake, cnn_submission):
    fake.score_error = "Submission has 99 rows"
    status, out, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG, "--wait")
    assert "Kaggle could not score cnn-image.csv (submission 1001): Submission has 99 rows" in _error_line(status, err)


def test_submit_wait_refuses_polling_faster_than_the_kaggle_cli(creds, fake, cnn_submission):
    status, _, err = run_cli("submit", "sign_mnist", str(cnn_submission), "-m", "x", "-c", SLUG, "--wait",
                             "--poll-interval", "1")
    assert "--poll-interval 1: use at least 5 seconds" in _one_line_error(status, err)
    assert fake.requests == []


# -- submissions ---------------------------------------------------------------------------

def _kaggle_submissions():
    return [
        {"ref": 3, "fileName": "blend-auto.csv", "date": "2024-05-03T10:00:00.000Z", "description": "blend",
         "status": "PENDING"},
        {"ref": 2, "fileName": "cnn-image.csv", "date": "2099-05-02T09:30:00.000Z", "description": "cnn",
         "status": "COMPLETE", "publicScore": "0.97000", "privateScore": "0.96500"},
        {"ref": 1, "fileName": "cnn-image.csv", "date": "2024-05-01T09:00:00.000Z", "description": "old cnn",
         "status": "COMPLETE", "publicScore": "0.95000", "privateScore": "0.94000"},
        {"ref": 0, "fileName": "mine.csv", "date": "2024-05-01T08:00:00.000Z", "description": "by hand",
         "status": "ERROR", "errorDescription": "Submission has 99 rows"},
    ]


def test_submissions_show_cv_beside_public_and_private_scores(kaggle_env, fake, cnn_submission, monkeypatch):
    from kaggletk.submission import list_submissions

    fake.tokens["tok-5555aaaa9999"] = fake.username
    monkeypatch.setenv("KAGGLE_API_TOKEN", "tok-5555aaaa9999")  # an access token instead of a key
    fake.submissions = _kaggle_submissions()
    result = list_submissions("sign_mnist", competition=SLUG)
    blend, cnn, old_cnn, mine = result.submissions
    assert (cnn.file_name, cnn.local_file, cnn.run, cnn.cv) == ("cnn-image.csv", cnn_submission, "cnn-image", 0.9912)
    assert (cnn.public_score, cnn.private_score, cnn.status, cnn.changed_since) == (0.97, 0.965, "complete", False)
    assert (blend.status, blend.public_score, blend.local_file, blend.cv) == ("pending", None, None, None)
    assert mine.status == "error" and mine.error == "Submission has 99 rows"
    assert old_cnn.cv == 0.9912 and old_cnn.changed_since  # the local file was rewritten after that submission
    assert fake.calls("ListSubmissions")[0].headers["authorization"] == "Bearer tok-5555aaaa9999"

    status, out, err = run_cli("submissions", "sign_mnist", "-c", SLUG)
    assert status == 0, err
    cnn_row, old_row = [line for line in out.splitlines() if "cnn-image.csv" in line]
    assert "0.97000" in cnn_row and "0.96500" in cnn_row and "0.9912" in cnn_row and "-0.0212" in cnn_row
    assert "0.9912 *" in old_row and "rewritten after this submission" in out
    assert "CV (OOF" in out and "accuracy)" in out and "Submission has 99 rows" in out and "mine.csv (not local)" in out
    _assert_no_secret(fake, out, err, root=kaggle_env["project"])


def test_submissions_pages_through_long_lists(creds, fake, project):
    fake.submissions = [{"ref": i, "fileName": f"f{i}.csv", "date": "2024-05-01T08:00:00.000Z", "status": "COMPLETE",
                         "publicScore": "0.5"} for i in range(45, 0, -1)]
    from kaggletk.submission import list_submissions

    result = list_submissions("sign_mnist", competition=SLUG)
    assert [s.ref for s in result.submissions] == list(range(45, 0, -1))
    assert [c.json["page"] for c in fake.calls("ListSubmissions")] == [1, 2, 3]


def test_submissions_csv_and_json_are_for_scripts(creds, fake, cnn_submission):
    import csv

    fake.submissions = _kaggle_submissions()
    status, out, err = run_cli("submissions", "sign_mnist", "-c", SLUG, "--csv")
    assert status == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert out.splitlines()[0].startswith("ref,fileName,date,description,status,publicScore,privateScore")
    assert [r["ref"] for r in rows] == ["3", "2", "1", "0"]
    cnn = rows[1]
    assert (cnn["fileName"], cnn["publicScore"], cnn["run"], cnn["cv"], cnn["cvMetric"]) == (
        "cnn-image.csv", "0.97", "cnn-image", "0.9912", "accuracy")
    assert rows[0]["publicScore"] == "" and rows[3]["errorDescription"] == "Submission has 99 rows"

    status, out, err = run_cli("submissions", "sign_mnist", "-c", SLUG, "--json")
    assert status == 0, err
    records = json.loads(out)  # nothing else on stdout
    assert records[1] == {"ref": 2, "fileName": "cnn-image.csv", "date": "2099-05-02T09:30:00Z", "description": "cnn",
                          "status": "complete", "publicScore": 0.97, "privateScore": 0.965, "errorDescription": "",
                          "run": "cnn-image", "cv": 0.9912, "cvMetric": "accuracy", "changedSince": False}
    assert records[0]["publicScore"] is None and records[2]["changedSince"] is True

    fake.submissions = []
    assert json.loads(run_cli("submissions", "sign_mnist", "-c", SLUG, "--json")[1]) == []
    assert run_cli("submissions", "sign_mnist", "-c", SLUG, "--csv")[1].splitlines() == [",".join(
        ["ref", "fileName", "date", "description", "status", "publicScore", "privateScore", "errorDescription", "run",
         "cv", "cvMetric", "changedSince"])]


# -- competition info ----------------------------------------------------------------------

def test_competition_info_gives_the_metric_as_kaggle_names_it(creds, fake):
    from datetime import datetime

    from kaggletk.kaggle import CompetitionInfo, competition_info

    fake.competitions[SLUG + "-2024"] = {"title": "Course Sign MNIST 2024", "evaluationMetric": "Multiclass Loss"}
    assert competition_info(SLUG) == CompetitionInfo(SLUG, "Course Sign MNIST", "Categorization Accuracy",
                                                     datetime(2099, 6, 30, 23, 59))
    assert competition_info(SLUG + "-2024").evaluation_metric == "Multiclass Loss"
    assert fake.calls("ListCompetitions")[0].json["search"] == SLUG
    with pytest.raises(KaggletkError, match="Kaggle lists no competition 'no-such-comp'; check the slug"):
        competition_info("no-such-comp")


def test_world_readable_kaggle_json_works_and_warns_once(kaggle_env, fake, project):
    kaggle_json = kaggle_env["config"] / "kaggle.json"
    kaggle_json.write_text(json.dumps({"username": fake.username, "key": fake.key}))
    kaggle_json.chmod(0o644)
    status, out, err = run_cli("submissions", "sign_mnist", "-c", SLUG)
    assert status == 0, err
    assert "no submissions yet" in out
    err = " ".join(err.split())  # the console may wrap the line
    assert err.count("chmod 600") == 1 and "warning:" in err and str(kaggle_json) in err
    _assert_no_secret(fake, out, err)


# -- credentials in a real process -----------------------------------------------------------

def test_missing_credentials_is_one_line_without_the_clients_help_text(kaggle_env):
    env = {k: v for k, v in os.environ.items() if k not in _CLIENT_ENV}
    result = run_kaggletk("submissions", "sign_mnist", "-c", SLUG, env=env, timeout=60)
    line = _one_line_error(result.returncode, result.stderr)
    assert "no Kaggle credentials found" in line and "KAGGLE_USERNAME and KAGGLE_KEY" in line
    assert str(kaggle_env["config"] / "kaggle.json") in line
    assert result.stdout == "" and "Authentication required" not in result.stderr
    assert list(kaggle_env["home"].iterdir()) == []  # nothing written to the (fake) home


def test_fetch_without_credentials_says_how_to_set_them_or_use_local_files(kaggle_env):
    status, out, err = run_cli("fetch", "sign_mnist")
    line = _one_line_error(status, err)
    assert "KAGGLE_USERNAME and KAGGLE_KEY" in line and "kaggletk fetch sign_mnist --from FOLDER" in line
    assert "Authentication required" not in out + err


def test_help_does_not_import_the_kaggle_client():
    code = ("import sys; from kaggletk.cli import build_parser; build_parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kaggle', 'kagglesdk')))")
    import subprocess

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr
    result = run_kaggletk("submit", "--help", timeout=60)
    assert result.returncode == 0 and "--dry-run" in result.stdout and "-c SLUG" in result.stdout
    assert "kaggletk submit sign_mnist submissions/sign_mnist/blend-auto.csv" in result.stdout


# -- fetch ---------------------------------------------------------------------------------

def test_fetch_downloads_the_dataset_unpacks_it_and_builds_the_cache(creds, fake, project):
    fake.archive = _sign_zip()
    status, out, err = run_cli("fetch", "sign_mnist")
    assert status == 0, err
    assert f"{N_TRAIN} train, {N_TEST} test images (with held-out test labels)" in out
    assert "from Kaggle datamunge/sign-language-mnist" in out
    download, = fake.calls("DownloadDataset")
    assert download.json["ownerSlug"] == "datamunge" and download.json["datasetSlug"] == "sign-language-mnist"
    manifest = json.loads((project / "competitions" / "sign_mnist" / "data" / "full" / "manifest.json").read_text())
    assert manifest["n_train"] == N_TRAIN and manifest["source"] == "Kaggle datamunge/sign-language-mnist"
    _assert_no_secret(fake, out, err, root=project)


def test_fetch_downloads_the_competition_files_when_a_slug_is_set(creds, fake, project, monkeypatch):
    monkeypatch.setenv("KAGGLETK_COMPETITION", SLUG)
    fake.archive = _sign_zip()
    status, out, err = run_cli("fetch", "sign_mnist")
    assert status == 0, err
    assert f"{N_TRAIN} train" in out
    download, = fake.calls("DownloadDataFiles")
    assert download.json["competitionName"] == SLUG and fake.calls("DownloadDataset") == []


def test_fetch_retries_a_server_error_on_download(creds, fake, project):
    fake.archive = _sign_zip()
    fake.fail("DownloadDataset", 502, times=1)
    status, out, err = run_cli("fetch", "sign_mnist")
    assert status == 0, err
    assert len(fake.calls("DownloadDataset")) == 2


def test_fetch_refuses_a_zip_slip_archive_and_writes_nothing(creds, fake, project):
    escape = f"escape-{uuid.uuid4().hex}.csv"
    fake.archive = _sign_zip({f"../../{escape}": b"label\n1\n"})
    status, _, err = run_cli("fetch", "sign_mnist")
    line = _one_line_error(status, err)
    assert "sign-language-mnist.zip" in line and f"'../../{escape}'" in line and "refusing" in line
    assert not (project / "competitions" / "sign_mnist" / "data" / "full").exists()
    import tempfile

    assert not (Path(tempfile.gettempdir()) / escape).exists()  # where ../../ from the unpack folder points


@pytest.mark.parametrize("member", ["/tmp/abs.csv", "C:\\evil.csv", "data/../../up.csv", "..\\up.csv"])
def test_unpack_refuses_members_outside_the_folder(tmp_path, member):
    from kaggletk.kaggle._archive import unpack_zip

    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("fine.csv", "x")
        zf.writestr(member, "x")
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(KaggletkError, match=r"a\.zip from test: archive member .* outside"):
        unpack_zip(archive, dest, "test")
    assert list(dest.iterdir()) == []  # checked before anything is written


def test_unpack_drops_exact_duplicates_only(tmp_path):
    from kaggletk.kaggle._archive import drop_duplicates

    (tmp_path / "sub").mkdir()
    for path, text in {"a.csv": "1", "sub/a.csv": "1", "b.csv": "1", "sub/b.csv": "2"}.items():
        (tmp_path / path).write_text(text)
    drop_duplicates(tmp_path)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["a.csv", "b.csv", str(Path("sub") / "b.csv")]
    assert stat.S_ISREG((tmp_path / "a.csv").stat().st_mode)
