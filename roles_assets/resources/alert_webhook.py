"""Where run-failure alerts go: ROLES_ALERT_WEBHOOK_URL, with ROLES_UI_URL for the run's link."""

import logging

import dagster as dg

from roles_assets.alerts import FailedRun, alert_text, post_alert
from roles_assets.settings import ALERT_WEBHOOK_VARIABLE, Settings

log = logging.getLogger(__name__)

# Long enough for a chat service's webhook, short enough that a hung one never holds the sensor.
DEFAULT_TIMEOUT_SECONDS = 5.0


class AlertWebhook(dg.ConfigurableResource):
    """An incoming webhook (Slack, Teams) that shows a ``{"text": ...}`` body as a message.

    ``url`` is empty when alerts are off. It carries the channel's token, so it is read at run
    time through ``dg.EnvVar`` and never logged.
    """

    url: str = ""
    ui_url: str = ""
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def send(self, run: FailedRun, secrets: list[str]) -> bool:
        """Posts the run's alert, with ``secrets`` and the webhook's own URL scrubbed from it."""
        if not self.url:
            log.warning("no alert sent for run %s: ROLES_ALERT_WEBHOOK_URL is not set", run.run_id)
            return False
        text = alert_text(run, self.ui_url or None, [*secrets, self.url])
        return post_alert(self.url, text, self.timeout_seconds)


def alert_webhook_resource(settings: Settings) -> AlertWebhook:
    """The URL through ``dg.EnvVar`` only when it is set: an unset EnvVar would fail the sensor."""
    url = dg.EnvVar(ALERT_WEBHOOK_VARIABLE) if settings.alert_webhook_set else ""
    return AlertWebhook(url=url, ui_url=settings.ui_url or "")
