"""Run-failure alerts: the message a chat webhook shows, and posting it without hanging.

Pure of Dagster: the sensor (sensors.py) gathers a failed run's facts into a ``FailedRun``; this
module turns them into ``{"text": ...}``, the body Slack and Teams incoming webhooks show as is,
and posts it. The text passes through :func:`scrub`, because an error's first line can quote a
connection URL or a secret; the webhook's URL (it carries the channel's token) is never logged.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import requests

log = logging.getLogger(__name__)

HIDDEN = "***"
# scheme://user:password@host -> scheme://user:***@host, whoever the URL belongs to.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^/\s:@]*):[^/\s@]*@", re.IGNORECASE)
# password=... in a libpq keyword string or a URL's query.
_PASSWORD_FIELD = re.compile(r"(?P<head>\bpassword\s*=\s*)[^\s&;,]+", re.IGNORECASE)


@dataclass(frozen=True)
class FailedRun:
    run_id: str
    sync_day: str | None  # the run's partition or range (first...last); None for a run of no day
    step: str | None  # the first step that failed; None when the run failed outside a step
    error: str  # the failure's text; only its first line is sent


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` without any of ``secrets`` (and, for a secret that is a URL, its password as
    written and decoded) nor any URL's password or ``password=`` value."""
    hidden = set()
    for secret in filter(None, secrets):
        hidden.add(secret)
        password = urlsplit(secret).password if "://" in secret else None
        if password:
            hidden |= {password, unquote(password)}
    for value in sorted(hidden, key=len, reverse=True):  # a URL before the password inside it
        text = text.replace(value, HIDDEN)
    text = _URL_PASSWORD.sub(rf"\g<head>:{HIDDEN}@", text)
    return _PASSWORD_FIELD.sub(rf"\g<head>{HIDDEN}", text)


def first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines()]
    return lines[0][:500] if lines else "(no error message)"


def alert_text(run: FailedRun, ui_url: str | None, secrets: Iterable[str]) -> str:
    """What the channel reads: the day, the step, the error's first line, the run and its link."""
    lines = [
        f"roles_assets run failed: sync day {run.sync_day or '(none)'}, "
        f"step {run.step or '(none: the run failed outside its steps)'}",
        f"error: {scrub(first_line(run.error), secrets)}",
        f"run: {run.run_id}",
    ]
    if ui_url:
        lines.append(f"{ui_url.rstrip('/')}/runs/{run.run_id}")
    return "\n".join(lines)


def post_alert(webhook_url: str, text: str, timeout_seconds: float) -> bool:
    """POSTs ``{"text": text}``; a webhook that refuses, fails or does not answer within
    ``timeout_seconds`` (to connect, and between bytes of the answer) costs a logged warning,
    not the caller. Whether it was taken is returned."""
    try:
        response = requests.post(
            webhook_url, json={"text": text}, timeout=(timeout_seconds, timeout_seconds)
        )
    except requests.RequestException as error:
        # The exception's text quotes the URL, and with it the webhook's token: name the kind.
        log.warning("the alert webhook did not take the message: %s", type(error).__name__)
        return False
    if response.status_code >= 300:
        log.warning("the alert webhook did not take the message: HTTP %d", response.status_code)
        return False
    return True
