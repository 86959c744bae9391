"""A small fake Kaggle API server, in-process, for driving the real ``kaggle`` client in tests.

The client (kaggle 2.2) sends every API call as a JSON POST to ``/api/v1/<service>/<Method>``
on the host chosen by ``KAGGLE_API_ENVIRONMENT``; ``LOCALHOST`` means ``http://localhost:80``.
Tests point ``HTTP_PROXY`` at this server (bound to 127.0.0.1, ephemeral port), so it receives
absolute-URL requests for ``http://localhost/...``, including the upload (``PUT createUrl``) and
the file download that ``DownloadDataFiles``/``DownloadDataset`` redirect to.

The server records every request, keeps the submissions it creates (scoring them after a few
polls) and can be scripted with faults, each for the next N requests of one API method, of
``upload`` (the PUT) or of ``download`` (the file GET):

- ``fail``: answer an HTTP error;
- ``stall``: accept the request and never answer (until the server stops);
- ``hang_up``: close the connection without an answer;

each either instead of the work (``after=False``: nothing happened) or after it (``after=True``:
the work is done and its answer is what is lost). ``break_download`` stalls or hangs up in the
middle of a file, ``slow_download`` sends it in small pieces with pauses.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOST = "http://localhost"
STALL_SECONDS = 120.0  # a stalled request is held this long at most (the server's stop releases it first)


@dataclass
class Recorded:
    """One request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def name(self) -> str:
        """The API method (``CreateSubmission``) or the last path part."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def json(self) -> dict:
        return json.loads(self.body or b"{}")

    @property
    def kind(self) -> str:
        """The name faults are scripted by: the API method, ``upload`` or ``download``."""
        if self.method == "PUT":
            return "upload"
        return "download" if self.path.startswith("/files/") else self.name


@dataclass(frozen=True)
class Fault:
    """What the server does to one request instead of answering it normally.

    Attributes
    ----------
    kind : {"status", "stall", "hang_up"}
    status, message : the HTTP error answered (kind "status")
    after : do the work first, then fail: the answer is lost, not the request
    after_bytes : for a file, send its headers and this many bytes before failing
    """

    kind: str
    status: int = 0
    message: str = ""
    after: bool = False
    after_bytes: int | None = None


@dataclass
class Reply:
    """An answer, and how it is sent: at once, or in pieces with pauses, or broken by a fault."""

    status: int
    headers: dict[str, str]
    body: bytes
    chunk_size: int = 0
    delay: float = 0.0
    fault: Fault | None = None


@dataclass
class FakeKaggle:
    """State and script of the fake server; ``start()`` it, point the client at ``proxy``.

    Attributes
    ----------
    username, key : the legacy credentials it accepts (HTTP Basic)
    tokens : access tokens it accepts (Bearer), mapped to user names
    competitions : slugs that exist (others answer 404), each with its title, metric and deadline
    datasets : ``owner/slug`` that exist
    archive : bytes served for any data download (a zip)
    upload_status : status answered to the upload PUT (200 = accepted)
    submissions : the competition's submission list (API field names), newest first; those the
        server creates are added at the front
    daily_limit, made_today : the day's submission limit, and submissions made before the test
    polls_to_score : a created submission is scored at the N-th listing after its creation (None: never)
    public_score, score_error : what scoring gives (an error description makes it fail)
    """

    username: str = "student"
    key: str = "k3y-0123456789abcdef"
    tokens: dict[str, str] = field(default_factory=dict)
    competitions: dict[str, dict] = field(default_factory=lambda: {"course-sign-mnist": {
        "title": "Course Sign MNIST", "evaluationMetric": "Categorization Accuracy", "deadline": "2099-06-30T23:59:00Z"}})
    datasets: set[str] = field(default_factory=lambda: {"datamunge/sign-language-mnist", "zalando-research/fashionmnist"})
    archive: bytes = b""
    upload_status: int = 200
    submissions: list[dict] = field(default_factory=list)
    daily_limit: int = 5
    made_today: int = 0
    polls_to_score: int | None = 1
    public_score: str = "0.98000"
    score_error: str = ""
    requests: list[Recorded] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    created: list[dict] = field(default_factory=list)
    _upload_names: dict[str, str] = field(default_factory=dict)
    _polls: dict[int, int] = field(default_factory=dict)
    _faults: dict[str, list[Fault]] = field(default_factory=dict)
    _download_pace: tuple[int, float] = (0, 0.0)
    _server: ThreadingHTTPServer | None = None
    _released: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- scripting -------------------------------------------------------------------------
    def fail(self, name: str, status: int, times: int = 1, message: str | None = None, after: bool = False) -> None:
        """Answer the next ``times`` requests of ``name`` with HTTP ``status``."""
        self._script(name, times, Fault("status", status, message or f"fake failure {status}", after))

    def stall(self, name: str, times: int = 1, after: bool = False) -> None:
        """Hold the next ``times`` requests of ``name`` without answering (until the server stops)."""
        self._script(name, times, Fault("stall", after=after))

    def hang_up(self, name: str, times: int = 1, after: bool = False) -> None:
        """Close the connection of the next ``times`` requests of ``name`` without answering."""
        self._script(name, times, Fault("hang_up", after=after))

    def break_download(self, kind: str, after_bytes: int, times: int = 1) -> None:
        """Send the next ``times`` downloads' headers and ``after_bytes`` bytes, then ``kind`` ("stall" or "hang_up")."""
        self._script("download", times, Fault(kind, after=True, after_bytes=after_bytes))

    def slow_download(self, chunk_size: int, delay: float) -> None:
        """Send downloads in pieces of ``chunk_size`` bytes, ``delay`` seconds apart."""
        self._download_pace = (chunk_size, delay)

    def _script(self, name: str, times: int, fault: Fault) -> None:
        self._faults.setdefault(name, []).extend([fault] * times)

    def calls(self, name: str) -> list[Recorded]:
        return [r for r in self.requests if r.name == name or r.kind == name]

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> FakeKaggle:
        fake = self

        class Handler(_Handler):
            server_state = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._released.set()  # stalled requests end
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def wait_released(self) -> None:
        """Block a stalled request until the server stops."""
        self._released.wait(STALL_SECONDS)

    @property
    def proxy(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # -- answers ---------------------------------------------------------------------------
    def authorised(self, headers: dict[str, str]) -> bool:
        auth = headers.get("authorization", "")
        if auth.startswith("Basic "):
            return base64.b64decode(auth[6:]).decode() == f"{self.username}:{self.key}"
        if auth.startswith("Bearer "):
            return auth[7:] in self.tokens
        return False

    def answer(self, req: Recorded) -> Reply:
        with self._lock:
            self.requests.append(req)
            queued = self._faults.get(req.kind)
            fault = queued.pop(0) if queued else None
        if fault is not None and not fault.after:
            return _fault_reply(fault)
        with self._lock:
            reply = self._route(req)
        if fault is None:
            return reply
        if fault.after_bytes is not None:
            reply.fault = fault
            return reply
        return _fault_reply(fault)

    def _route(self, req: Recorded) -> Reply:
        if req.kind == "upload" and req.path.startswith("/upload/"):
            self.uploads[req.name] = req.body
            return Reply(self.upload_status, {"Content-Type": "text/plain"}, b"upload answer")
        if req.kind == "download":
            chunk_size, delay = self._download_pace
            return Reply(200, {"Content-Type": "application/zip"}, self.archive, chunk_size, delay)
        if not req.path.startswith("/api/v1/"):
            return _json(404, {"code": 404, "message": f"no route {req.path}"})
        body = req.json
        if req.name == "IntrospectToken":
            user = self.tokens.get(body.get("token", ""))
            return _json(200, {"active": bool(user), "username": user or ""})
        if not self.authorised(req.headers):
            return _json(401, {"code": 401, "message": "Unauthenticated"})
        handler = getattr(self, f"_{req.name}", None)
        if handler is None:
            return _json(404, {"code": 404, "message": f"unknown method {req.name}"})
        return handler(body)

    def _competition(self, body: dict) -> Reply | None:
        if body.get("competitionName") not in self.competitions:
            return _json(404, {"code": 404, "message": "Competition not found"})
        return None

    def _StartSubmissionUpload(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        token = f"blob-{len(self.calls('StartSubmissionUpload'))}"
        self._upload_names[token] = body.get("fileName", "")
        return _json(200, {"token": token, "createUrl": f"{HOST}/upload/{token}"})

    def _CreateSubmission(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        token = body.get("blobFileTokens")
        if token not in self.uploads:
            return _json(400, {"code": 400, "message": "blob not uploaded"})
        ref = 1001 + len(self.created)
        submission = {"ref": ref, "fileName": self._upload_names[token], "date": _now(), "status": "PENDING",
                      "description": body.get("submissionDescription", ""), "totalBytes": len(self.uploads[token])}
        self.created.append(submission)
        self.submissions.insert(0, submission)
        return _json(200, {"message": "Successfully submitted to Course Sign MNIST", "ref": ref})

    def _GetSubmissionLimits(self, body):
        today = self.made_today + len(self.created)
        return self._competition(body) or _json(200, {"numToday": today, "numTotal": today,
                                                      "numAllowedNow": max(0, self.daily_limit - today)})

    def _ListSubmissions(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        self._score_pending()
        page, size = int(body.get("page") or 1), int(body.get("pageSize") or 20)
        return _json(200, {"submissions": self.submissions[(page - 1) * size: page * size]})

    def _score_pending(self) -> None:
        for submission in self.created:
            if submission["status"] != "PENDING" or self.polls_to_score is None:
                continue
            polls = self._polls[submission["ref"]] = self._polls.get(submission["ref"], 0) + 1
            if polls >= self.polls_to_score:
                if self.score_error:
                    submission.update(status="ERROR", errorDescription=self.score_error)
                else:
                    submission.update(status="COMPLETE", publicScore=self.public_score)

    def _ListCompetitions(self, body):
        search = (body.get("search") or "").lower()
        found = [{"ref": f"https://www.kaggle.com/competitions/{slug}", "url": f"https://www.kaggle.com/competitions/{slug}",
                  **info} for slug, info in self.competitions.items()
                 if search in slug.lower() or search in info.get("title", "").lower()]
        return _json(200, {"competitions": found, "nextPageToken": ""})

    def _DownloadDataFiles(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        return Reply(302, {"Location": f"{HOST}/files/{body['competitionName']}.zip?sig=abc"}, b"")

    def _DownloadDataset(self, body):
        ref = f"{body.get('ownerSlug')}/{body.get('datasetSlug')}"
        if ref not in self.datasets:
            return _json(404, {"code": 404, "message": "Dataset not found"})
        return Reply(302, {"Location": f"{HOST}/files/{body['datasetSlug']}.zip"}, b"")


def _json(status: int, payload: dict) -> Reply:
    return Reply(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


def _fault_reply(fault: Fault) -> Reply:
    if fault.kind == "status":
        return _json(fault.status, {"code": fault.status, "message": fault.message})
    return Reply(0, {}, b"", fault=fault)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeKaggle

    def _handle(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        path = urlsplit(self.path).path  # proxied requests carry the absolute URL
        reply = self.server_state.answer(Recorded(self.command, path, headers, body))
        if reply.fault is not None and reply.fault.after_bytes is None:
            self._break(reply.fault)
            return
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        body = reply.body if reply.fault is None else reply.body[:reply.fault.after_bytes]
        step = reply.chunk_size or len(body) or 1
        for start in range(0, len(body), step):
            self.wfile.write(body[start:start + step])
            self.wfile.flush()
            if reply.delay:
                time.sleep(reply.delay)
        if reply.fault is not None:
            self._break(reply.fault)

    def _break(self, fault: Fault) -> None:
        if fault.kind == "stall":
            self.server_state.wait_released()
        self.close_connection = True

    def _read_body(self, headers: dict[str, str]) -> bytes:
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(headers.get("content-length") or 0))

    do_GET = do_POST = do_PUT = _handle

    def log_message(self, format, *args):  # keep test output clean
        pass
