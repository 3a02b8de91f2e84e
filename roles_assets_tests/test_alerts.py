"""Run-failure alerts: the message, what it never holds, and webhooks that fail or hang, against
real HTTP servers on 127.0.0.1. The sensor under the daemon is in test_operations.py."""

import logging
import time

import pytest

from roles_assets.alerts import FailedRun, alert_text, post_alert
from roles_assets.resources.alert_webhook import AlertWebhook
from roles_assets_tests.webhook_fake import TOKEN, RecordingWebhook, SilentWebhook

pytestmark = pytest.mark.fast

RUN = FailedRun(
    run_id="6b1f0c2e-run",
    sync_day="2026-12-01",
    step="staging_tables",
    error="roles_assets.resources.postgres.DatabaseUnavailable: cannot connect\n  traceback line",
)
PASSWORD = "S3cr@t-pw"
DATABASE_URL = "postgresql://loader:S3cr%40t-pw@db.internal:5432/roles"
API_KEY = "fd-key-9a7c"


@pytest.fixture
def webhook():
    server = RecordingWebhook()
    yield server
    server.close()


def test_the_message_names_the_day_the_step_the_error_the_run_and_its_link():
    assert alert_text(RUN, "http://dagster.internal:3000/", secrets=[]) == (
        "roles_assets run failed: sync day 2026-12-01, step staging_tables\n"
        "error: roles_assets.resources.postgres.DatabaseUnavailable: cannot connect\n"
        "run: 6b1f0c2e-run\n"
        "http://dagster.internal:3000/runs/6b1f0c2e-run"
    )
    bare = alert_text(FailedRun("r1", None, None, ""), None, secrets=[])
    assert bare == (
        "roles_assets run failed: sync day (none), step (none: the run failed outside its "
        "steps)\nerror: (no error message)\nrun: r1"
    )


@pytest.mark.parametrize(
    "error",
    [
        f"OperationalError: could not connect to {DATABASE_URL}",  # the URL itself
        f"OperationalError: password authentication failed, password {PASSWORD} refused",
        "OperationalError: password authentication failed, password S3cr%40t-pw refused",
        "OperationalError: dsn host=db user=loader password=An0ther-pw dbname=roles",
        "OperationalError: at postgresql://other:An0ther-pw@elsewhere/roles",  # not the known URL
        f"FreshdeskError: GET /api/v2/roles with key {API_KEY}",
        "ConnectionError: POST {webhook_url} refused",  # the webhook's own URL
    ],
)
def test_a_failure_whose_message_holds_a_secret_is_sent_without_it(webhook, error):
    error = error.replace("{webhook_url}", webhook.url)
    alerts = AlertWebhook(url=webhook.url)
    assert alerts.send(
        FailedRun("r1", "2026-12-01", "final_tables", error), [DATABASE_URL, API_KEY]
    )
    ((path, body),) = webhook.received
    assert path == f"/hooks/{TOKEN}" and list(body) == ["text"]
    text = body["text"]
    assert "error: " + error.split(":")[0] + ": " in text  # the error is there, scrubbed
    for secret in (PASSWORD, "S3cr%40t-pw", "An0ther-pw", DATABASE_URL, API_KEY, TOKEN):
        assert secret not in text
    assert "***" in text


def test_a_sensor_started_without_a_webhook_says_so(webhook, caplog):
    with caplog.at_level(logging.WARNING, logger="roles_assets.resources.alert_webhook"):
        assert AlertWebhook(url="").send(RUN, []) is False
    assert webhook.received == []
    assert caplog.messages == [
        "no alert sent for run 6b1f0c2e-run: ROLES_ALERT_WEBHOOK_URL is not set"
    ]


def test_a_webhook_that_refuses_costs_a_warning_without_its_url(caplog):
    server = RecordingWebhook(status=500)
    try:
        with caplog.at_level(logging.WARNING, logger="roles_assets.alerts"):
            assert post_alert(server.url, "text", timeout_seconds=2) is False
        assert len(server.received) == 1
    finally:
        server.close()
    server_gone = server.url  # closed now: the connection is refused
    with caplog.at_level(logging.WARNING, logger="roles_assets.alerts"):
        assert post_alert(server_gone, "text", timeout_seconds=2) is False
    assert [r.getMessage() for r in caplog.records] == [
        "the alert webhook did not take the message: HTTP 500",
        "the alert webhook did not take the message: ConnectionError",
    ]
    assert TOKEN not in caplog.text


def test_a_webhook_that_never_answers_costs_the_timeout_and_a_warning(caplog):
    silent = SilentWebhook()
    try:
        started = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="roles_assets.alerts"):
            assert AlertWebhook(url=silent.url, timeout_seconds=1.0).send(RUN, []) is False
        assert time.monotonic() - started < 3
    finally:
        silent.close()
    assert [r.getMessage() for r in caplog.records] == [
        "the alert webhook did not take the message: ReadTimeout"
    ]
    assert TOKEN not in caplog.text
