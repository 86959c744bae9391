"""The official ``kaggle`` client (2.x), wrapped: credentials, quiet calls, retries, one-line errors.

The client is imported here only, and only when a command talks to Kaggle: importing it
authenticates at once (printing a help text and calling ``exit`` when there are no credentials),
so ``kaggletk --help`` and the commands that never talk to Kaggle stay fast and quiet.

What this module relies on in kaggle 2.2:

- Credentials, in the client's order: an access token (``KAGGLE_API_TOKEN``, its value or a file
  holding it; ``~/.kaggle/access_token``), checked with the server; a legacy key
  (``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, or ``kaggle.json`` in ``$KAGGLE_CONFIG_DIR``, else
  ``~/.kaggle``, else ``~/.config/kaggle``); OAuth credentials from ``kaggle auth login``.
  ``authenticate()`` prints a help text and calls ``exit(1)`` when none is found.
- The config folder and ``KAGGLE_API_ENVIRONMENT`` (the API host) are read once, at import.
- HTTP failures raise ``requests.HTTPError``; Kaggle's explanation is the ``message`` of the JSON
  body. A failed upload is *returned*, not raised: ``competition_submit`` answers with the message
  ``Could not submit to competition`` and the caller must check it.
- The client prints progress and warnings on stdout; all of it is captured here (it can include
  request headers in verbose mode) and never shown as is.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

from kaggletk.errors import KaggletkError

T = TypeVar("T")

ATTEMPTS = 4
"""Tries of one Kaggle call before a transient failure (connection, HTTP 5xx or 429) is final."""

_RETRY_ENV = "KAGGLETK_RETRY_BASE_SECONDS"
_DEFAULT_BASE_SECONDS = 2.0
_MAX_RETRY_AFTER = 60.0
_SECRET_ENV = ("KAGGLE_KEY", "KAGGLE_API_TOKEN")

_secrets: set[str] = set()
_warned: set[str] = set()
_config_file: list[str] = []  # the client's kaggle.json path, once connected (for messages)


class UploadFailed(Exception):
    """The client reported a failed upload with a normal return value; nothing was submitted."""


def credentials_help(config_file: str | None = None) -> str:
    """How to give the Kaggle client credentials, in one clause (names places, never values)."""
    where = config_file or "~/.kaggle/kaggle.json"
    return (f"set KAGGLE_USERNAME and KAGGLE_KEY (or KAGGLE_API_TOKEN), or save the kaggle.json from "
            f"https://www.kaggle.com/settings (API, Create New Token) as {where} and `chmod 600` it")


def redact(text: str) -> str:
    """``text`` with every known Kaggle key or token replaced by ``***``."""
    for secret in _secrets | {os.environ.get(name, "") for name in _SECRET_ENV}:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def warn(message: str, notify: Callable[[str], None] | None) -> None:
    """A warning for the user: through ``notify`` when given, else one line on stderr."""
    if notify is not None:
        notify(f"warning: {message}")
    else:
        print(f"kaggletk: warning: {message}", file=sys.stderr)


def retry_base_seconds() -> float:
    """First retry delay (doubled on each retry); ``$KAGGLETK_RETRY_BASE_SECONDS`` overrides it."""
    value = os.environ.get(_RETRY_ENV)
    if value is None:
        return _DEFAULT_BASE_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 600:
        raise KaggletkError(f"{_RETRY_ENV}={value!r}: use a number of seconds between 0 and 600, e.g. 2")
    return seconds


def connect(what: str, *, hint: str = "", notify: Callable[[str], None] | None = None) -> Any:
    """An authenticated ``kaggle.api.kaggle_api_extended.KaggleApi``.

    Parameters
    ----------
    what : str
        The action, for messages (``submitting x.csv to slug``).
    hint : str
        Appended to the missing-credentials message (another way to reach the goal).
    notify : callable or None
        Receives warnings (a ``kaggle.json`` readable by other users) and retry notices.

    Raises
    ------
    KaggletkError
        No credentials (one line saying how to set them), refused credentials, the client
        cannot be imported, or Kaggle unreachable after retries.
    """
    captured = io.StringIO()
    try:
        with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
            from kaggle.api.kaggle_api_extended import KaggleApi
    except ImportError as exc:
        raise KaggletkError(f"{what}: the kaggle package is not installed; install it with `pip install 'kaggle>=2'`") from exc
    except (Exception, SystemExit) as exc:  # the import authenticates and makes folders: anything can surface
        raise KaggletkError(f"{what}: the kaggle package cannot be loaded ({type(exc).__name__}: {redact(str(exc))})") from exc
    api = KaggleApi()
    config_file = str(api.config)
    _config_file[:] = [config_file]
    _check_permissions(Path(config_file), notify)
    # The client drops a token that the server does not accept and then reports no credentials at all.
    token_note = " (KAGGLE_API_TOKEN is set but Kaggle did not accept it: it may have expired)" \
        if os.environ.get("KAGGLE_API_TOKEN") else ""
    missing = f"{what}: no Kaggle credentials found{token_note}; {credentials_help(config_file)}{hint}"
    run(api.authenticate, what=what, notify=notify, on_exit=missing)
    values = getattr(api, "config_values", {}) or {}
    _secrets.update(str(values[k]) for k in ("key", "token") if values.get(k))
    return api


def _check_permissions(path: Path, notify: Callable[[str], None] | None) -> None:
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


def run(func: Callable[..., T], *args: Any, what: str, errors: Mapping[int, str] | None = None,
        notify: Callable[[str], None] | None = None, on_exit: str | None = None, attempts: int = ATTEMPTS,
        **kwargs: Any) -> T:
    """Call a client function quietly, retrying transient failures with exponential backoff.

    Parameters
    ----------
    func : callable
        A ``KaggleApi`` method (or a closure calling several).
    what : str
        The action, for messages.
    errors : mapping of int to str, optional
        Messages for HTTP statuses the caller can explain (404: no such competition, ...);
        ``{detail}`` is replaced by ``404`` or ``404: <Kaggle's message>``.
    on_exit : str, optional
        Message when the client calls ``exit`` (it does when credentials are missing).
    attempts : int
        Tries before a transient failure is final.

    Transient failures (connection errors, HTTP 5xx and 429, failed uploads) are tried
    ``attempts`` times, waiting ``base * 2**i`` seconds (Retry-After when Kaggle sends one, up to
    60 s), then end in one line. Every other failure ends in one line at once.
    """
    base = retry_base_seconds()
    for attempt in range(1, attempts + 1):
        captured = io.StringIO()
        try:
            with contextlib.redirect_stdout(captured), contextlib.redirect_stderr(captured):
                return func(*args, **kwargs)
        except SystemExit as exc:
            detail = _last_line(captured.getvalue())
            raise KaggletkError(on_exit or f"{what}: the Kaggle client stopped ({detail or 'no reason given'})") from exc
        except KaggletkError:
            raise
        except Exception as exc:  # the client raises requests, urllib3 and plain exceptions alike
            reason, delay = _transient(exc, captured.getvalue())
            if reason is None:
                raise _final_error(exc, what, errors or {}) from exc
            if attempt == attempts:
                raise KaggletkError(f"{what}: failed {attempts} times ({reason}); {_advice(exc)}") from exc
            wait = base * 2 ** (attempt - 1) if delay is None else min(delay, _MAX_RETRY_AFTER)
            if notify is not None:
                notify(f"{what}: {reason}; retrying in {wait:.3g}s (attempt {attempt + 1} of {attempts})")
            time.sleep(wait)
    raise AssertionError("unreachable")


def _transient(exc: Exception, output: str) -> tuple[str | None, float | None]:
    """(reason, Retry-After seconds) for a failure worth retrying; (None, None) otherwise."""
    import requests
    from urllib3 import exceptions as urllib3_exceptions

    if isinstance(exc, UploadFailed):
        detail = _last_line(output)
        return f"the upload failed{': ' + detail if detail else ''}", None
    status = http_status(exc)
    if status is not None:
        if status >= 500 or status == 429:
            return f"HTTP {status}{_message_suffix(exc)}", _retry_after(exc)
        return None, None
    if isinstance(exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError,
                        urllib3_exceptions.ProtocolError, urllib3_exceptions.TimeoutError, ConnectionError)):
        return f"cannot reach {_host(exc)} ({type(exc).__name__})", None
    return None, None


def _advice(exc: Exception) -> str:
    if isinstance(exc, UploadFailed):
        return "nothing was submitted; try again later"
    if http_status(exc) is not None:
        return "Kaggle may be busy or down; try again later"
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


def _final_error(exc: Exception, what: str, errors: Mapping[int, str]) -> KaggletkError:
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
