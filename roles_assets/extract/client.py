"""A Freshdesk API v2 client: HTTP Basic auth, bounded retries, guarded pagination.

Freshdesk limits requests per account, answers ``429`` with ``Retry-After`` when the limit is
hit, and pages lists through a ``Link: <...>; rel="next"`` header. Connectors that loop over
pages naively fail after hundreds of pages on one transient error, or hammer a rate-limited
account; this client retries what is transient, fails at once on what is not, and refuses
pagination that leaves the account's host, repeats itself or never ends.

The API key travels only in the ``Authorization`` header. It is never part of a URL, and every
message this module produces passes through :func:`FreshdeskClient._redact` as well.
"""

import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

log = logging.getLogger(__name__)

# Exceptions of requests that a later attempt may not meet: the connection, not the request.
TRANSIENT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
)


class FreshdeskError(RuntimeError):
    """A request failed for good. Messages name the request, never the API key."""


class FreshdeskAuthError(FreshdeskError):
    """401 or 403: the key is wrong or lacks the permission; retrying cannot help."""


class FreshdeskNotFound(FreshdeskError):
    """404: the record does not exist (for an agent, it was deleted after being listed)."""


class FreshdeskWaitTooLong(FreshdeskError):
    """429 with a ``Retry-After`` beyond what a run waits (an hourly limit): a later run retries."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry a transient failure (429, 5xx, connect or read timeout).

    ``attempts`` counts the first request. Waits double from ``backoff_seconds``, capped at
    ``max_wait_seconds``; a 429 waits what its ``Retry-After`` asks, and one that asks more than
    ``max_wait_seconds`` fails the request at once.
    """

    attempts: int = 5
    backoff_seconds: float = 1.0
    max_wait_seconds: float = 60.0

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_wait_seconds)


@dataclass
class Counters:
    """What a client did, for the materialization's metadata."""

    requests: int = 0
    pages: int = 0
    retries: int = 0
    rate_limited_429: int = 0
    rate_limit_remaining: int | None = None  # X-RateLimit-Remaining of the latest answer


@dataclass(frozen=True)
class Page:
    """One page of a list: its records, and its body exactly as the API sent it."""

    number: int
    records: list
    body: bytes


class FreshdeskClient:
    """GET requests against one Freshdesk account (``base_url``, e.g. ``https://acme.freshdesk.com``)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout: float = 10.0,
        read_timeout: float = 30.0,
        retry: RetryPolicy = RetryPolicy(),
        max_pages: int = 500,
        sleep: Callable[[float], None] = time.sleep,
    ):
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FreshdeskError(
                "the Freshdesk base URL must look like https://<domain>.freshdesk.com"
            )
        if parts.username or parts.password:
            # A key in the URL would reach logs and error messages; Basic auth keeps it in a header.
            raise FreshdeskError(
                "the Freshdesk base URL must not carry credentials; set FRESHDESK_API_KEY"
            )
        if not api_key:
            raise FreshdeskError("no Freshdesk API key: set FRESHDESK_API_KEY")
        self.base_url = base_url.rstrip("/")
        self._origin = (parts.scheme, parts.netloc.lower())
        self._api_key = api_key
        self._timeout = (connect_timeout, read_timeout)
        self._retry = retry
        self._max_pages = max_pages
        self._sleep = sleep
        self._session = requests.Session()
        self._session.auth = (api_key, "X")  # Freshdesk: the key as user name, any password
        self._session.headers["Accept"] = "application/json"
        self.counters = Counters()

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> "FreshdeskClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def get(self, path: str) -> requests.Response:
        """A successful answer to ``GET path`` (or a full URL on the account's host), retried."""
        return self._get(urljoin(self.base_url + "/", path.lstrip("/")))

    def get_object(self, path: str) -> tuple[dict, bytes]:
        """A JSON object and the body it came from; anything else fails."""
        response = self.get(path)
        value = self._json(response, self._describe(response.url))
        if not isinstance(value, dict):
            raise FreshdeskError(f"{self._describe(response.url)} did not answer a JSON object")
        return value, response.content

    def pages(self, path: str) -> Iterator[Page]:
        """Every page of a list, following ``Link: rel="next"`` until a page has none.

        Refused, failing the listing: a next URL on another host (the session would send the key
        there), a URL already fetched (a loop), more than ``max_pages`` pages, and a page that is
        not a JSON list.
        """
        url: str | None = urljoin(self.base_url + "/", path.lstrip("/"))
        fetched: set[str] = set()
        while url is not None:
            if url in fetched:
                raise FreshdeskError(
                    f"refusing {self._describe(url)}: the next link repeats a page already fetched"
                )
            if len(fetched) == self._max_pages:
                raise FreshdeskError(
                    f"refusing {self._describe(url)}: the list has more than "
                    f"{self._max_pages} pages"
                )
            fetched.add(url)
            response = self._get(url)
            records = self._json(response, self._describe(url))
            if not isinstance(records, list):
                raise FreshdeskError(f"{self._describe(url)} did not answer a JSON list")
            self.counters.pages += 1
            yield Page(number=len(fetched), records=records, body=response.content)
            url = self._next_url(response)

    def _next_url(self, response: requests.Response) -> str | None:
        link = response.links.get("next", {}).get("url")
        if not link:
            return None
        url = urljoin(response.url, link)
        parts = urlsplit(url)
        if (parts.scheme, parts.netloc.lower()) != self._origin:
            raise FreshdeskError(
                f"refusing the next page of {self._describe(response.url)}: its link points to "
                f"another host ({parts.hostname}), not {self._origin[1]}"
            )
        return url

    def _get(self, url: str) -> requests.Response:
        what = self._describe(url)
        for attempt in range(1, self._retry.attempts + 1):
            self.counters.requests += 1
            try:
                response = self._session.get(url, timeout=self._timeout)
            except TRANSIENT_ERRORS as error:
                problem, wait = f"{type(error).__name__}: {error}", self._retry.backoff(attempt)
            else:
                self._note_rate_limit(response)
                status = response.status_code
                if status < 300:
                    return response
                detail = self._error_detail(response)
                if status in (401, 403):
                    raise FreshdeskAuthError(
                        f"{what}: HTTP {status}{detail}; check FRESHDESK_API_KEY and that its "
                        "agent may read roles and agents (not retried)"
                    )
                if status == 404:
                    raise FreshdeskNotFound(f"{what}: HTTP 404{detail}")
                if status == 429:
                    self.counters.rate_limited_429 += 1
                    wait = self._retry_after(response, attempt)
                elif status >= 500:
                    wait = self._retry.backoff(attempt)
                else:
                    raise FreshdeskError(f"{what}: HTTP {status}{detail}")
                problem = f"HTTP {status}{detail}"
            if attempt == self._retry.attempts:
                raise FreshdeskError(
                    self._redact(f"{what} failed {attempt} times; the last failure: {problem}")
                )
            self.counters.retries += 1
            log.warning(self._redact(f"{what}: {problem}; retry {attempt} in {wait:.1f} s"))
            self._sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _retry_after(self, response: requests.Response, attempt: int) -> float:
        """The wait a 429 asks for (seconds or an HTTP date); back-off when it asks none.

        A wait beyond ``max_wait_seconds`` (an account's hourly limit is spent) is not waited
        out: sleeping through it would hold the run, and its Spark and database slots, for
        nothing, while the schedule's next tick tries again anyway.
        """
        value = response.headers.get("Retry-After", "").strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError):
                return self._retry.backoff(attempt)
        if seconds > self._retry.max_wait_seconds:
            cap = self._retry.max_wait_seconds
            raise FreshdeskWaitTooLong(
                f"{self._describe(response.url)}: HTTP 429; Freshdesk asked to wait "
                f"{seconds:.0f} s (Retry-After), more than the {cap:.0f} s a run waits; "
                "the next pull tick retries"
            )
        return max(seconds, 0.0)

    def _note_rate_limit(self, response: requests.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        if remaining is not None and remaining.strip().isdigit():
            self.counters.rate_limit_remaining = int(remaining)

    def _error_detail(self, response: requests.Response) -> str:
        """Freshdesk's ``{"description", "errors": [{"field", "message", "code"}]}``, shortened."""
        try:
            body = response.json()
        except ValueError:
            return ""
        if not isinstance(body, dict):
            return ""
        parts = [str(body.get("description") or body.get("message") or "")]
        for error in body.get("errors") or []:
            if isinstance(error, dict):
                parts.append(":".join(str(error.get(k)) for k in ("field", "code") if error.get(k)))
        text = "; ".join(part for part in parts if part)
        return self._redact(f" ({text[:300]})") if text else ""

    @staticmethod
    def _json(response: requests.Response, what: str):
        try:
            return json.loads(response.content)
        except ValueError:
            raise FreshdeskError(f"{what} did not answer JSON") from None

    def _describe(self, url: str) -> str:
        """``GET /api/v2/agents?page=2``: the request without scheme and host."""
        parts = urlsplit(url)
        return self._redact(f"GET {parts.path}" + (f"?{parts.query}" if parts.query else ""))

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***")
