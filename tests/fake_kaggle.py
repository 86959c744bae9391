"""A small fake Kaggle API server, in-process, for driving the real ``kaggle`` client in tests.

The client (kaggle 2.2) sends every API call as a JSON POST to ``/api/v1/<service>/<Method>``
on the host chosen by ``KAGGLE_API_ENVIRONMENT``; ``LOCALHOST`` means ``http://localhost:80``.
Tests point ``HTTP_PROXY`` at this server (bound to 127.0.0.1, ephemeral port), so it receives
absolute-URL requests for ``http://localhost/...``, including the upload (``PUT createUrl``) and
the file download that ``DownloadDataFiles``/``DownloadDataset`` redirect to.

The server records every request and can be scripted: answer a method with an error N times,
refuse uploads, serve a given zip for downloads.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOST = "http://localhost"


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


@dataclass
class FakeKaggle:
    """State and script of the fake server; ``start()`` it, point the client at ``proxy``.

    Attributes
    ----------
    username, key : the legacy credentials it accepts (HTTP Basic)
    tokens : access tokens it accepts (Bearer), mapped to user names
    competitions : slugs that exist; others answer 404
    datasets : ``owner/slug`` that exist
    archive : bytes served for any data download (a zip)
    upload_status : status answered to the upload PUT (200 = accepted)
    submissions : the competition's submission list (API field names), newest first
    """

    username: str = "student"
    key: str = "k3y-0123456789abcdef"
    tokens: dict[str, str] = field(default_factory=dict)
    competitions: set[str] = field(default_factory=lambda: {"course-sign-mnist"})
    datasets: set[str] = field(default_factory=lambda: {"datamunge/sign-language-mnist", "zalando-research/fashionmnist"})
    archive: bytes = b""
    upload_status: int = 200
    submissions: list[dict] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    uploads: dict[str, bytes] = field(default_factory=dict)
    _failures: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- scripting -------------------------------------------------------------------------
    def fail(self, name: str, status: int, times: int = 1, message: str | None = None) -> None:
        """Answer the next ``times`` calls of ``name`` (API method or ``upload``) with ``status``."""
        self._failures.setdefault(name, []).extend([(status, message or f"fake failure {status}")] * times)

    def calls(self, name: str) -> list[Recorded]:
        return [r for r in self.requests if r.name == name or (name == "upload" and r.method == "PUT")]

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
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

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

    def answer(self, req: Recorded) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            self.requests.append(req)
            queued = self._failures.get(req.name if req.method != "PUT" else "upload")
            failure = queued.pop(0) if queued else None
        if failure is not None:
            return _json(failure[0], {"code": failure[0], "message": failure[1]})
        if req.method == "PUT" and req.path.startswith("/upload/"):
            self.uploads[req.name] = req.body
            return self.upload_status, {"Content-Type": "text/plain"}, b"upload answer"
        if req.method == "GET" and req.path.startswith("/files/"):
            return 200, {"Content-Type": "application/zip"}, self.archive
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

    def _competition(self, body: dict) -> tuple[int, dict[str, str], bytes] | None:
        if body.get("competitionName") not in self.competitions:
            return _json(404, {"code": 404, "message": "Competition not found"})
        return None

    def _StartSubmissionUpload(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        token = f"blob-{len(self.calls('StartSubmissionUpload'))}"
        return _json(200, {"token": token, "createUrl": f"{HOST}/upload/{token}"})

    def _CreateSubmission(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        token = body.get("blobFileTokens")
        if token not in self.uploads:
            return _json(400, {"code": 400, "message": "blob not uploaded"})
        ref = 1000 + len(self.calls("CreateSubmission"))
        return _json(200, {"message": "Successfully submitted to Course Sign MNIST", "ref": ref})

    def _GetSubmissionLimits(self, body):
        return self._competition(body) or _json(200, {"numToday": 1, "numTotal": 1, "numAllowedNow": 4})

    def _ListSubmissions(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        page, size = int(body.get("page") or 1), int(body.get("pageSize") or 20)
        return _json(200, {"submissions": self.submissions[(page - 1) * size: page * size]})

    def _DownloadDataFiles(self, body):
        missing = self._competition(body)
        if missing:
            return missing
        return 302, {"Location": f"{HOST}/files/{body['competitionName']}.zip?sig=abc"}, b""

    def _DownloadDataset(self, body):
        ref = f"{body.get('ownerSlug')}/{body.get('datasetSlug')}"
        if ref not in self.datasets:
            return _json(404, {"code": 404, "message": "Dataset not found"})
        return 302, {"Location": f"{HOST}/files/{body['datasetSlug']}.zip"}, b""


def _json(status: int, payload: dict) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()


class _Handler(BaseHTTPRequestHandler):
    server_state: FakeKaggle

    def _handle(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self._read_body(headers)
        path = urlsplit(self.path).path  # proxied requests carry the absolute URL
        status, out_headers, payload = self.server_state.answer(Recorded(self.command, path, headers, body))
        self.send_response(status)
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

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
