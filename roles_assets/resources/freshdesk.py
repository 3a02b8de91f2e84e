"""The Freshdesk account a sync day is pulled from: FRESHDESK_BASE_URL or FRESHDESK_DOMAIN, and
FRESHDESK_API_KEY."""

import re

import dagster as dg

from roles_assets.extract.client import FreshdeskClient, FreshdeskError, RetryPolicy

ENV_VARS = {
    "base_url": "FRESHDESK_BASE_URL",
    "domain": "FRESHDESK_DOMAIN",
    "api_key": "FRESHDESK_API_KEY",
}

_DOMAIN = re.compile(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


class FreshdeskResource(dg.ConfigurableResource):
    """Connection and patience settings for the Freshdesk API v2.

    ``base_url`` (a full URL, for proxies and tests) wins over ``domain`` (``acme`` or
    ``acme.freshdesk.com``). Empty fields mean the API is not configured: landed days still run.
    """

    base_url: str = ""
    domain: str = ""
    api_key: str = ""
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 30.0
    attempts: int = 5
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0
    max_pages: int = 500  # Freshdesk advises against paging beyond 500

    @property
    def configured(self) -> bool:
        return bool(self.api_key and (self.base_url or self.domain))

    def account_url(self) -> str:
        if self.base_url:
            return self.base_url
        if not _DOMAIN.fullmatch(self.domain):
            raise FreshdeskError("FRESHDESK_DOMAIN must be a name like acme or acme.freshdesk.com")
        host = self.domain if "." in self.domain else f"{self.domain}.freshdesk.com"
        return f"https://{host}"

    def client(self) -> FreshdeskClient:
        return FreshdeskClient(
            self.account_url(),
            self.api_key,
            connect_timeout=self.connect_timeout_seconds,
            read_timeout=self.read_timeout_seconds,
            retry=RetryPolicy(self.attempts, self.backoff_seconds, self.max_wait_seconds),
            max_pages=self.max_pages,
        )


def freshdesk_resource(set_variables: frozenset[str]) -> FreshdeskResource:
    """The resource with each set variable (``Settings.freshdesk_variables``) read at run time
    through ``dg.EnvVar``.

    Unset variables stay empty instead of becoming an EnvVar, which would fail every run,
    including runs of days that are already landed and need no API.
    """
    return FreshdeskResource(
        **{field: dg.EnvVar(var) for field, var in ENV_VARS.items() if var in set_variables}
    )
