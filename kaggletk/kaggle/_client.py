"""The official ``kaggle`` client (2.x), wrapped: credentials, time limits, quiet calls, retries, one-line errors.

The client is imported here only, and only when a command talks to Kaggle: importing it
authenticates at once (printing a help text and calling ``exit`` when there are no credentials),
so ``kaggletk --help`` and the commands that never talk to Kaggle stay fast and quiet.

What this module relies on in kaggle 2.2:

- Credentials, in the client's order: an access token (``KAGGLE_API_TOKEN``, its value or a file
  holding it; ``~/.kaggle/access_token``), checked with the server; a legacy key
  (``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, or ``kaggle.json`` in ``$KAGGLE_CONFIG_DIR``, else
  ``~/.kaggle``, else ``~/.config/kaggle``); OAuth credentials from ``kaggle auth login``.
  ``authenticate()`` prints a help text and calls ``exit(1)`` when none is found; a
  ``kaggle.json`` that does not parse is skipped silently.
- The config folder and ``KAGGLE_API_ENVIRONMENT`` (the API host) are read once, at import.
- Every API call goes through ``KaggleApi.build_kaggle_client()``, whose ``requests`` session is
  given no timeout: a server that accepts the connection and never answers blocks for ever. The
  session is therefore given a transport adapter with connect and read timeouts (``Timeouts``).
- HTTP failures raise ``requests.HTTPError``; Kaggle's explanation is the ``message`` of the JSON
  body.
- The client prints progress and warnings on stdout; all of it is captured here (it can include
  request headers in verbose mode) and never shown as is.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kaggletk.errors import KaggletkError

T = TypeVar("T")
Notify = Callable[[str], None]

ATTEMPTS = 4
"""Tries of one Kaggle call before a transient failure (connection, time-out, HTTP 5xx or 429) is final."""

SETTINGS_URL = "https://www.kaggle.com/settings"

_RETRY_ENV = "KAGGLETK_RETRY_BASE_SECONDS"
_CONNECT_ENV = "KAGGLETK_CONNECT_TIMEOUT_SECONDS"
_READ_ENV = "KAGGLETK_TIMEOUT_SECONDS"
_TRANSFER_ENV = "KAGGLETK_TRANSFER_TIMEOUT_SECONDS"
_MAX_RETRY_AFTER = 60.0
_SECRET_ENV = ("KAGGLE_KEY", "KAGGLE_API_TOKEN")
_TIMEOUT_VALUE = re.compile(r"(?:read|connect) timeout=([0-9.]+)")
_NOT_AN_OBJECT = 'exists but is not a JSON object like {"username": "...", "key": "..."}'

_secrets: set[str] = set()
_warned: set[str] = set()
_config_file: list[str] = []  # the client's kaggle.json path, once connected (for messages)


@dataclass(frozen=True)
class Timeouts:
    """How long kaggletk waits for Kaggle, in seconds.

    Attributes
    ----------
    connect : float
        To open a connection (``$KAGGLETK_CONNECT_TIMEOUT_SECONDS``, default 10).
    read : float
        For the answer to an API call (``$KAGGLETK_TIMEOUT_SECONDS``, default 60).
    transfer : float
        For the next piece of a download, or for the answer to an upload
        (``$KAGGLETK_TRANSFER_TIMEOUT_SECONDS``, default 300): it bounds each wait, not the
        whole transfer, so a large file on a slow line still arrives.
    """

    connect: float
    read: float
    transfer: float

    @property
    def api(self) -> tuple[float, float]:
        """``(connect, read)`` as ``requests`` takes it, for API calls."""
        return self.connect, self.read

    @property
    def stream(self) -> tuple[float, float]:
        """``(connect, transfer)``, for downloads and uploads."""
        return self.connect, self.transfer


def timeouts() -> Timeouts:
    """The time limits in force, from the environment (see ``Timeouts``)."""
    return Timeouts(_env_seconds(_CONNECT_ENV, 10.0, 0.1, 3600), _env_seconds(_READ_ENV, 60.0, 0.1, 3600),
                    _env_seconds(_TRANSFER_ENV, 300.0, 0.1, 3600))


def retry_base_seconds() -> float:
    """First retry delay (doubled on each retry); ``$KAGGLETK_RETRY_BASE_SECONDS`` overrides it (default 2)."""
    return _env_seconds(_RETRY_ENV, 2.0, 0, 600)


def _env_seconds(name: str, default: float, low: float, high: float) -> float:
    value = os.environ.get(name)
    if value is None:
        return default
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not low <= seconds <= high:
        raise KaggletkError(f"{name}={value!r}: use a number of seconds between {low:g} and {high:g}, e.g. {default:g}")
    return seconds


def credentials_help(config_file: str | None = None) -> str:
    """How to give the Kaggle client credentials, in one clause (names places, never values)."""
    where = config_file or "~/.kaggle/kaggle.json"
    return (f"set KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN), or save the kaggle.json from "
            f"{SETTINGS_URL} (API, Create New Token) as {where} and `chmod 600` it")


def redact(text: str) -> str:
    """``text`` with every known Kaggle key or token replaced by ``***``."""
    for secret in _secrets | {os.environ.get(name, "") for name in _SECRET_ENV}:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def tell(message: str, notify: Notify | None) -> None:
    """A notice for the user: through ``notify`` when given, else one line on stderr."""
    if notify is not None:
        notify(message)
    else:
        print(f"kaggletk: {message}", file=sys.stderr)


def warn(message: str, notify: Notify | None) -> None:
    """A warning for the user (``tell`` with a ``warning:`` prefix)."""
    tell(f"warning: {message}", notify)


def connect(what: str, *, hint: str = "", notify: Notify | None = None) -> Any:
    """An authenticated ``KaggleApi`` whose HTTP sessions have time limits.

    Parameters
    ----------
    what : str
        The action, for messages (``submitting x.csv to slug``).
    hint : str
        Appended to the missing-credentials message (another way to reach the goal).
    notify : callable or None
        Receives warnings (a ``kaggle.json`` readable by other users) and retry notices.

    Returns
    -------
    KaggleApi
        Its ``build_kaggle_client(timeout)`` takes the ``(connect, read)`` limit of that client;
        without one, ``timeouts().api``. ``api.timeouts`` holds the limits in force.

    Raises
    ------
    KaggletkError
        No credentials (one line saying how to set them), a ``kaggle.json`` that is there but
        broken (saying so), refused credentials, the client cannot be imported, a bad time
        limit in the environment, or Kaggle unreachable after retries.
    """
    limits = timeouts()
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            api_class = _timed_api_class()
    except ImportError as exc:
        raise KaggletkError(f"{what}: the kaggle package is not installed; install it with `pip install 'kaggle>=2'`") from exc
    except (Exception, SystemExit) as exc:  # the import authenticates and makes folders: anything can surface
        raise KaggletkError(f"{what}: the kaggle package cannot be loaded ({type(exc).__name__}: {redact(str(exc))})") from exc
    api = api_class()
    api.timeouts = limits
    # The client fixes its folder when first imported; a process (a notebook) may have changed the environment since.
    api.config_dir = str(_config_dir())
    api.config = os.path.join(api.config_dir, api.config_file)
    config_file = Path(api.config)
    _config_file[:] = [str(config_file)]
    _check_permissions(config_file, notify)
    problem = _config_problem(config_file)
    if problem == _NOT_AN_OBJECT:  # the client fails on it whatever other credentials there are
        raise KaggletkError(_broken_config(what, config_file, problem))
    on_exit = _broken_config(what, config_file, problem) if problem else _no_credentials(what, config_file, hint)
    run(api.authenticate, what=what, notify=notify, on_exit=on_exit)
    values = getattr(api, "config_values", {}) or {}
    _secrets.update(str(values[k]) for k in ("key", "token") if values.get(k))
    return api


def _config_dir() -> Path:
    """Where the kaggle client looks for kaggle.json now: ``$KAGGLE_CONFIG_DIR``, else ``~/.kaggle``, else (on Linux,
    when that is absent) ``$XDG_CONFIG_HOME/kaggle``, as the client decides it."""
    if os.environ.get("KAGGLE_CONFIG_DIR"):
        return Path(os.environ["KAGGLE_CONFIG_DIR"])
    home = Path(os.path.expanduser("~")) / ".kaggle"
    if sys.platform.startswith("linux") and not home.exists():
        return Path(os.environ.get("XDG_CONFIG_HOME") or Path(os.path.expanduser("~")) / ".config") / "kaggle"
    return home


@functools.cache
def _timed_api_class() -> type:
    """``KaggleApi`` with a timeout on every session it builds (imports the client: call it quietly)."""
    from kaggle.api.kaggle_api_extended import KaggleApi
    from requests.adapters import HTTPAdapter

    class TimeoutAdapter(HTTPAdapter):
        def __init__(self, timeout: tuple[float, float]):
            super().__init__()
            self.timeout = timeout

        def send(self, request, timeout=None, **kwargs):  # the client passes none
            return super().send(request, timeout=timeout or self.timeout, **kwargs)

    class TimedKaggleApi(KaggleApi):
        timeouts: Timeouts

        def build_kaggle_client(self, timeout: tuple[float, float] | None = None):
            client = super().build_kaggle_client()
            http = client.http_client()
            http._init_session()  # made lazily by the client's first call; made now to mount on it
            adapter = TimeoutAdapter(timeout or self.timeouts.api)
            for prefix in ("http://", "https://"):
                http._session.mount(prefix, adapter)
            return client

    return TimedKaggleApi


def _broken_config(what: str, config_file: Path, problem: str) -> str:
    return f"{what}: {config_file} {problem}: fix it or download a new one from {SETTINGS_URL} (API, Create New Token)"


def _no_credentials(what: str, config_file: Path, hint: str) -> str:
    """The message when the client finds no credentials and kaggle.json is absent or fine."""
    # The client drops a token that the server does not accept and then reports no credentials at all.
    token_note = " (KAGGLE_API_TOKEN is set but Kaggle did not accept it: it may have expired)" \
        if os.environ.get("KAGGLE_API_TOKEN") else ""
    return f"{what}: no Kaggle credentials found{token_note}; {credentials_help(str(config_file))}{hint}"


def _config_problem(path: Path) -> str | None:
    """Why an existing kaggle.json gives no credentials (never quoting it), or None (absent or fine).

    The client skips a kaggle.json that does not parse, and finds a token or OAuth credentials
    without one, so a problem is reported only when no credentials are found, except a file that
    is not a JSON object, on which the client fails.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        return f"exists but cannot be read ({getattr(exc, 'strerror', None) or type(exc).__name__})"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"exists but is not valid JSON (line {exc.lineno}: {exc.msg})"
    if not isinstance(data, dict):
        return _NOT_AN_OBJECT
    missing = [name for name in ("username", "key") if not data.get(name) and not os.environ.get(f"KAGGLE_{name.upper()}")]
    return f"exists but has no {' and no '.join(repr(m) for m in missing)}" if missing else None


def _check_permissions(path: Path, notify: Notify | None) -> None:
    # The client prints its own warning on every read; it is captured, and this one is shown once.
    if os.name == "nt" or str(path) in _warned:
        return
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o044:
        _warned.add(str(path))
        warn(f"{path} holds your Kaggle key and is readable by other users of this machine; run `chmod 600 {path}`", notify)


def call(func: Callable[..., T], *args: Any, what: str, on_exit: str | None = None, **kwargs: Any) -> T:
    """Call a client function once, its output captured; the client's ``exit`` becomes a ``KaggletkError``.

    Other exceptions propagate as raised (``transient_reason`` and ``final_error`` classify them).
    """
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            return func(*args, **kwargs)
    except SystemExit as exc:
        detail = _last_line(captured.getvalue())
        raise KaggletkError(on_exit or f"{what}: the Kaggle client stopped ({detail or 'no reason given'})") from exc


def run(func: Callable[..., T], *args: Any, what: str, errors: Mapping[int, str] | None = None,
        notify: Notify | None = None, on_exit: str | None = None, attempts: int = ATTEMPTS, **kwargs: Any) -> T:
    """Call a client function quietly, retrying transient failures with exponential backoff.

    Only for calls that are safe to repeat: creating a submission is not (see ``_api``).

    Parameters
    ----------
    func : callable
        A ``KaggleApi`` method (or a closure calling several).
    what : str
        The action, for messages.
    errors : mapping of int to str, optional
        Messages for HTTP statuses the caller can explain (404: no such competition, ...);
        ``{detail}`` is replaced by ``404`` or ``404: <Kaggle's message>``.
    notify : callable or None
        Receives one line per retry (else it goes to stderr).
    on_exit : str, optional
        Message when the client calls ``exit`` (it does when credentials are missing).
    attempts : int
        Tries before a transient failure is final.

    Transient failures (connection errors, time-outs, HTTP 5xx and 429) are tried ``attempts``
    times, waiting ``base * 2**i`` seconds (Retry-After when Kaggle sends one, up to 60 s), then
    end in one line. Every other failure ends in one line at once; a ``KaggletkError`` raised by
    ``func`` passes through unchanged.
    """
    base = retry_base_seconds()
    for attempt in range(1, attempts + 1):
        try:
            return call(func, *args, what=what, on_exit=on_exit, **kwargs)
        except KaggletkError:
            raise
        except Exception as exc:  # the client raises requests, urllib3 and plain exceptions alike
            reason = transient_reason(exc)
            if reason is None:
                raise final_error(exc, what, errors or {}) from exc
            if attempt == attempts:
                raise KaggletkError(f"{what}: failed {attempts} times ({reason}); {_advice(exc)}") from exc
            delay = _retry_after(exc)
            wait = base * 2 ** (attempt - 1) if delay is None else min(delay, _MAX_RETRY_AFTER)
            tell(f"{what}: {reason}; retrying in {wait:.3g}s (attempt {attempt + 1} of {attempts})", notify)
            time.sleep(wait)
    raise AssertionError("unreachable")


def transient_reason(exc: BaseException) -> str | None:
    """Why a failure is worth retrying, in a few words (``HTTP 503: ...``); None when it is not."""
    import requests
    from urllib3 import exceptions as urllib3_exceptions

    status = http_status(exc)
    if status is not None:
        return f"HTTP {status}{_message_suffix(exc)}" if status >= 500 or status == 429 else None
    if isinstance(exc, (requests.Timeout, urllib3_exceptions.TimeoutError)):
        seconds = _TIMEOUT_VALUE.search(str(exc))
        return f"{_host(exc)} did not answer within {f'{float(seconds.group(1)):g}s' if seconds else 'the time limit'}"
    if isinstance(exc, (requests.exceptions.ChunkedEncodingError, urllib3_exceptions.ProtocolError)):
        return f"the connection to {_host(exc)} broke off ({type(exc).__name__})"
    if isinstance(exc, (requests.ConnectionError, ConnectionError)):
        return f"cannot reach {_host(exc)} ({type(exc).__name__})"
    return None


def _advice(exc: BaseException) -> str:
    if http_status(exc) is not None:
        return "Kaggle may be busy or down; try again later"
    if "did not answer" in (transient_reason(exc) or ""):
        return (f"Kaggle may be slow or down; try again later, or allow more time with {_READ_ENV} ({_TRANSFER_ENV} "
                f"for downloads and uploads, {_CONNECT_ENV} to connect)")
    return "check your internet connection (and any proxy) and try again"


def http_status(exc: BaseException) -> int | None:
    """The HTTP status of a client error: the JSON body's ``code`` when set, else the response's."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    body = _body(response)
    code = body.get("code")
    return code if isinstance(code, int) and code >= 400 else response.status_code


def kaggle_message(exc: BaseException) -> str:
    """Kaggle's own explanation of an HTTP error (the JSON body's ``message``), or ''."""
    response = getattr(exc, "response", None)
    message = _body(response).get("message") if response is not None else None
    return redact(" ".join(str(message).split())) if message else ""


def _body(response: Any) -> dict:
    try:
        body = response.json()
    except Exception:  # not JSON, or a stream already read
        return {}
    return body if isinstance(body, dict) else {}


def _message_suffix(exc: BaseException) -> str:
    message = kaggle_message(exc)
    return f": {message}" if message else ""


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(getattr(exc, "response", None), "headers", {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _host(exc: BaseException) -> str:
    from urllib.parse import urlsplit

    url = getattr(getattr(exc, "request", None), "url", None)
    return (urlsplit(url).hostname if url else None) or "Kaggle"


def final_error(exc: BaseException, what: str, errors: Mapping[int, str]) -> KaggletkError:
    """The one-line error for a failure that is not retried (``errors`` as for ``run``)."""
    status = http_status(exc)
    if status is None:
        return KaggletkError(f"{what}: the Kaggle client failed ({type(exc).__name__}: {redact(str(exc)) or 'no message'})")
    detail = f"{status}{_message_suffix(exc)}"
    if status in errors:
        return KaggletkError(errors[status].format(detail=detail))
    if status == 401:
        return KaggletkError(f"{what}: Kaggle refused the credentials ({detail}); check them (a key stops working when "
                             f"a new token is created): {credentials_help(_config_file[0] if _config_file else None)}")
    return KaggletkError(f"{what}: Kaggle answered HTTP {detail}")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return redact(lines[-1]) if lines else ""
