"""Optuna storages: SQLite under ``oof/<comp>/`` by default, any RDB URL (PostgreSQL for several
machines), or a journal file. RDB storages get a heartbeat, so a trial whose worker was killed is
marked failed and retried with the same parameters when a worker next runs."""

from __future__ import annotations

import re
import time
import warnings
from pathlib import Path

from kaggletk.errors import KaggletkError
from kaggletk.workspace import Workspace, workspace


def default_storage_url(comp: str, ws: Workspace | None = None) -> str:
    path = (ws or workspace()).comp_oof_dir(comp) / "optuna.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


# Query parameters whose values are secrets (libpq's password, sslpassword; tokens and keys of other drivers).
_SECRET_PARAM = re.compile(r"pass|pwd|secret|token|key|auth|credential", re.IGNORECASE)


def _split_secrets(url: str) -> tuple[str, list[str]]:
    """(the URL masked, the secret values it held, raw and percent-decoded)."""
    from urllib.parse import unquote

    scheme, sep, rest = str(url).partition("://")
    if not sep:
        return str(url), []
    secrets = []
    at = rest.rfind("@")  # a password may hold a raw '@': the host starts after the last one
    if at >= 0:
        userinfo, after = rest[:at], rest[at + 1:]
        user, colon, password = userinfo.partition(":")
        if colon:
            secrets.append(password)
            rest = f"{user}:***@{after}"
    head, qsep, query = rest.partition("?")
    if qsep:
        query, hsep, fragment = query.partition("#")
        items = []
        for item in query.split("&"):
            key, eq, value = item.partition("=")
            if eq and _SECRET_PARAM.search(unquote(key)):
                secrets.append(value)
                item = f"{key}=***"
            items.append(item)
        rest = f"{head}?{'&'.join(items)}{hsep}{fragment}"
    secrets += [unquote(v) for v in secrets]
    return f"{scheme}://{rest}", [v for v in secrets if v]


def mask_url(url: str) -> str:
    """The URL with its password and secret query parameters replaced by ``***`` (for printing and files).

    >>> mask_url("postgresql://optuna:p@ss@db-host/optuna?sslmode=require&password=x")
    'postgresql://optuna:***@db-host/optuna?sslmode=require&password=***'
    """
    return _split_secrets(url)[0]


def redact_url_secrets(text: str, url: str) -> str:
    """``text`` (an error message) with every form of ``url``'s secrets replaced by ``***``."""
    masked, secrets = _split_secrets(url)
    text = str(text).replace(str(url), masked)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


def open_storage(url: str, heartbeat_seconds: int = 60):
    """An Optuna storage for ``url``: ``sqlite:///...``, ``postgresql://...``, ``mysql://...`` or ``journal:PATH``."""
    import optuna
    from optuna.storages import JournalStorage, RDBStorage

    try:  # Optuna >= 4.9 names it after the heartbeat
        from optuna.storages import RetryHeartbeatStaleTrialCallback as Retry
        retry_arg = "heartbeat_stale_trial_callback"
    except ImportError:
        from optuna.storages import RetryFailedTrialCallback as Retry
        retry_arg = "failed_trial_callback"
    from optuna.storages.journal import JournalFileBackend

    if url.startswith("journal:"):
        path = Path(url[len("journal:"):]).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if not re.match(r"^[a-z0-9+]+://", url):
        raise KaggletkError(f"--storage {mask_url(url)}: use sqlite:///PATH, postgresql://USER:PASSWORD@HOST/DB or journal:PATH")
    for attempt in range(5):
        try:
            with warnings.catch_warnings():  # heartbeats are "experimental" in Optuna; we rely on them knowingly
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                return RDBStorage(
                    url,
                    heartbeat_interval=heartbeat_seconds,
                    grace_period=2 * heartbeat_seconds,
                    engine_kwargs={"pool_pre_ping": True} if not url.startswith("sqlite") else None,
                    **{retry_arg: Retry(max_retry=2)},
                )
        except (ImportError, ModuleNotFoundError) as exc:
            raise KaggletkError(f"--storage {mask_url(url)}: its database driver is not installed "
                                f"({redact_url_secrets(str(exc), url)}); for PostgreSQL install psycopg[binary]") from None
        except Exception as exc:  # sqlalchemy's errors, without importing sqlalchemy here
            text = str(exc).strip()
            # Workers started together on an empty database race to create Optuna's tables: the loser retries.
            if attempt < 4 and ("UniqueViolation" in text or "already exists" in text or "duplicate key" in text):
                time.sleep(0.5 * (attempt + 1))
                continue
            first = text.splitlines()[0] if text else type(exc).__name__
            raise KaggletkError(f"--storage {mask_url(url)}: cannot open ({redact_url_secrets(mask_url(first), url)}); check the "
                                "URL and that the server runs") from None
    raise AssertionError("unreachable")
