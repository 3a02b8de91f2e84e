"""The Freshdesk client and the day pull, against a real HTTP server on 127.0.0.1 (no Spark)."""

import json
import logging
import socket

import pytest

from roles_assets.extract.client import (
    FreshdeskAuthError,
    FreshdeskClient,
    FreshdeskError,
    FreshdeskWaitTooLong,
    RetryPolicy,
)
from roles_assets.extract.pull import pull_day, why_not_pullable
from roles_assets.partitions import landed_days
from roles_assets_tests.freshdesk_fake import API_KEY, FakeFreshdesk, Fault, api_agent, api_role

pytestmark = pytest.mark.fast

FAST = RetryPolicy(attempts=3, backoff_seconds=0.05, max_wait_seconds=2.0)


@pytest.fixture
def fake():
    server = FakeFreshdesk(
        roles=[api_role(1, "Admin"), api_role(2, "Agent", extra_field={"kept": True})],
        agents=[api_agent(agent_id, [1 if agent_id % 2 else 2]) for agent_id in range(101, 106)],
    )
    yield server
    server.close()


def client_for(fake, key=API_KEY, **options) -> FreshdeskClient:
    options.setdefault("retry", FAST)
    options.setdefault("read_timeout", 1.0)
    return FreshdeskClient(fake.base_url, key, connect_timeout=1.0, **options)


def test_pages_are_joined_through_the_link_header(fake):
    with client_for(fake) as client:
        pages = list(client.pages("/api/v2/agents?per_page=2"))
    assert [len(page.records) for page in pages] == [2, 2, 1]
    assert [r["id"] for page in pages for r in page.records] == [101, 102, 103, 104, 105]
    assert fake.paths() == [
        "/api/v2/agents?per_page=2",
        "/api/v2/agents?per_page=2&page=2",
        "/api/v2/agents?per_page=2&page=3",
    ]
    assert (client.counters.requests, client.counters.pages, client.counters.retries) == (3, 3, 0)
    assert client.counters.rate_limit_remaining == 697


def test_a_429_waits_what_retry_after_asks_then_succeeds(fake):
    fake.fail("/api/v2/roles", Fault(429, {"Retry-After": "1"}))
    with client_for(fake) as client:
        (page,) = client.pages("/api/v2/roles")
    assert [r["id"] for r in page.records] == [1, 2]
    (first, _), (second, _) = fake.requests
    assert 0.9 <= second - first < 1.9  # Retry-After honoured, not the 0.05 s back-off
    assert (
        client.counters.requests,
        client.counters.retries,
        client.counters.rate_limited_429,
    ) == (
        2,
        1,
        1,
    )


@pytest.mark.parametrize("retry_after", ["3600", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_a_retry_after_beyond_the_cap_fails_at_once_naming_the_wait(fake, landing, retry_after):
    fake.fail("/api/v2/roles", Fault(429, {"Retry-After": retry_after}))
    waits = []
    with (
        client_for(fake, retry=RetryPolicy(max_wait_seconds=60.0), sleep=waits.append) as client,
        pytest.raises(FreshdeskWaitTooLong) as raised,
    ):
        pull_day(client, landing, "2026-12-01")
    assert waits == [] and len(fake.requests) == 1  # neither waited out nor tried again
    message = str(raised.value)
    assert message.startswith("GET /api/v2/roles: HTTP 429; Freshdesk asked to wait ")
    assert message.endswith(
        " s (Retry-After), more than the 60 s a run waits; the next pull tick retries"
    )
    asked = float(message.split("wait ")[1].split(" s ")[0])
    assert asked == 3600 if retry_after == "3600" else asked > 60
    assert list(landing.iterdir()) == []  # no day folder, and no .partial folder either


def test_a_retry_after_at_the_cap_is_waited(fake):
    fake.fail("/api/v2/roles", Fault(429, {"Retry-After": "2"}))
    waits = []
    with client_for(fake, sleep=waits.append) as client:
        list(client.pages("/api/v2/roles"))
    assert waits == [2.0]


def test_a_503_is_retried_then_succeeds(fake):
    fake.fail("/api/v2/agents/103", Fault(503))
    with client_for(fake) as client:
        agent, _ = client.get_object("/api/v2/agents/103")
    assert agent["role_ids"] == [1]
    assert fake.paths() == ["/api/v2/agents/103"] * 2
    assert (client.counters.retries, client.counters.rate_limited_429) == (1, 0)


def test_a_server_that_keeps_failing_fails_after_the_attempts(fake):
    fake.fail("/api/v2/roles", *[Fault(502)] * 10)
    with (
        client_for(fake) as client,
        pytest.raises(FreshdeskError, match="failed 3 times.*HTTP 502"),
    ):
        list(client.pages("/api/v2/roles"))
    assert len(fake.requests) == 3


def test_a_401_fails_at_once_and_names_no_key(fake):
    with (
        client_for(fake, key="wrong-key-77") as client,
        pytest.raises(FreshdeskAuthError) as raised,
    ):
        list(client.pages("/api/v2/roles"))
    assert len(fake.requests) == 1
    message = str(raised.value)
    assert (
        "HTTP 401" in message and "FRESHDESK_API_KEY" in message and "wrong-key-77" not in message
    )


def test_a_read_timeout_is_retried(fake):
    fake.fail("/api/v2/roles", Fault(200, delay=1.0))  # answers, but after the read timeout
    with client_for(fake, read_timeout=0.3) as client:
        (page,) = client.pages("/api/v2/roles")
    assert len(page.records) == 2
    assert (len(fake.requests), client.counters.retries) == (2, 1)


def test_read_timeouts_every_time_fail_naming_the_request(fake):
    fake.fail("/api/v2/roles", *[Fault(200, delay=0.6)] * 3)
    with (
        client_for(fake, read_timeout=0.2) as client,
        pytest.raises(
            FreshdeskError, match=r"GET /api/v2/roles failed 3 times.*ReadTimeout"
        ) as raised,
    ):
        list(client.pages("/api/v2/roles"))
    assert API_KEY not in str(raised.value)


def test_a_next_link_to_another_host_is_not_followed(fake):
    other = FakeFreshdesk(roles=[api_role(9)], agents=[])
    try:
        fake.next_link[("/api/v2/roles", 1)] = f"{other.base_url}/api/v2/roles?page=2"
        with client_for(fake) as client, pytest.raises(FreshdeskError, match="another host"):
            list(client.pages("/api/v2/roles"))
        assert other.requests == []
    finally:
        other.close()


def test_a_repeated_next_link_and_too_many_pages_are_refused(fake):
    fake.next_link[("/api/v2/roles", 1)] = f"{fake.base_url}/api/v2/roles"
    with client_for(fake) as client, pytest.raises(FreshdeskError, match="repeats a page"):
        list(client.pages("/api/v2/roles"))
    with (
        client_for(fake, max_pages=2) as client,
        pytest.raises(FreshdeskError, match="more than 2 pages"),
    ):
        list(client.pages("/api/v2/agents?per_page=2"))


def test_a_page_that_is_not_a_json_list_fails(fake):
    with client_for(fake) as client, pytest.raises(FreshdeskError, match="not answer a JSON list"):
        list(client.pages("/api/v2/agents/101"))


def test_a_base_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(FreshdeskError) as raised:
        FreshdeskClient("https://secret-key:X@acme.freshdesk.com", "secret-key")
    assert "secret-key" not in str(raised.value)


def test_pull_lands_the_day_as_the_api_answered(fake, tmp_path, caplog):
    fake.deleted.add(104)
    with client_for(fake) as client:
        report = pull_day(client, tmp_path, "2026-12-01")
    day = tmp_path / "2026-12-01"
    (roles_file,) = (day / "admin_roles").iterdir()
    roles = json.loads(roles_file.read_text())
    assert roles == fake.roles and roles[1]["extra_field"] == {"kept": True}  # unknown field kept
    assert sorted(p.name for p in (day / "agent_details").iterdir()) == [
        "101.json",
        "102.json",
        "103.json",
        "105.json",
    ]
    assert json.loads((day / "agent_details" / "102.json").read_text()) == fake.agents[1]
    # 1 roles request + 1 agent list page + 5 agent details
    assert (report.api.requests, report.api.pages, report.agents, report.agents_skipped) == (
        7,
        2,
        4,
        [104],
    )
    assert report.files_written == 5
    assert "agent 104 was listed but its detail answers 404" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == ["2026-12-01"]  # no partial folder left
    assert json.loads((day / ".pull.json").read_text())["agents_skipped"] == [104]


def test_a_failed_pull_leaves_no_day_folder(fake, tmp_path):
    fake.fail("/api/v2/agents/103", *[Fault(503)] * 3)
    with (
        client_for(fake) as client,
        pytest.raises(FreshdeskError, match="agents/103 failed 3 times"),
    ):
        pull_day(client, tmp_path, "2026-12-01")
    assert list(tmp_path.iterdir()) == []


def test_a_day_being_pulled_is_not_a_landed_day(fake, tmp_path):
    seen_during_pull = []

    def sleep_and_look(seconds):
        seen_during_pull.append((landed_days(tmp_path), [p.name[:9] for p in tmp_path.iterdir()]))

    fake.fail("/api/v2/agents/102", Fault(503))
    with client_for(fake, sleep=sleep_and_look) as client:
        pull_day(client, tmp_path, "2026-12-01")
    assert seen_during_pull == [([], [".partial-"])]
    assert landed_days(tmp_path) == ["2026-12-01"]


def test_a_day_landed_meanwhile_is_not_replaced(fake, tmp_path):
    def land_it_meanwhile(seconds):
        (tmp_path / "2026-12-01" / "admin_roles").mkdir(parents=True)
        (tmp_path / "2026-12-01" / "admin_roles" / "theirs.json").write_text("[]")

    fake.fail("/api/v2/agents/101", Fault(503))
    with (
        client_for(fake, sleep=land_it_meanwhile) as client,
        pytest.raises(FreshdeskError, match="landed meanwhile"),
    ):
        pull_day(client, tmp_path, "2026-12-01")
    assert [p.name for p in (tmp_path / "2026-12-01" / "admin_roles").iterdir()] == ["theirs.json"]
    assert [p.name for p in tmp_path.iterdir()] == ["2026-12-01"]


def test_only_today_can_be_pulled_and_only_when_configured():
    assert why_not_pullable("2026-12-01", "2026-12-01", True) is None
    assert "knows only the present" in why_not_pullable("2026-11-30", "2026-12-01", True)
    assert "knows only the present" in why_not_pullable("day1", "2026-12-01", True)
    assert "set FRESHDESK_API_KEY and FRESHDESK_DOMAIN" in why_not_pullable(
        "2026-12-01", "2026-12-01", False
    )


def test_the_key_never_reaches_the_logs(fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    fake.fail("/api/v2/roles", Fault(429, {"Retry-After": "0"}), Fault(503), Fault(200, delay=0.5))
    with client_for(
        fake, read_timeout=0.2, retry=RetryPolicy(attempts=4, backoff_seconds=0.01)
    ) as client:
        pull_day(client, tmp_path, "2026-12-01")
    assert "retry 3" in caplog.text and API_KEY not in caplog.text


@pytest.mark.parametrize("status, error", [(403, FreshdeskAuthError), (400, FreshdeskError)])
def test_a_403_or_another_4xx_fails_after_one_request(fake, status, error):
    fake.fail("/api/v2/roles", Fault(status))
    with client_for(fake) as client, pytest.raises(error, match=f"HTTP {status} \\(fault\\)"):
        list(client.pages("/api/v2/roles"))
    assert len(fake.requests) == 1


def test_a_refused_connection_is_retried_then_fails():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens once the probe is closed
    waits = []
    with (
        FreshdeskClient(
            f"http://127.0.0.1:{port}", API_KEY, retry=FAST, sleep=waits.append
        ) as client,
        pytest.raises(FreshdeskError, match="GET /api/v2/roles failed 3 times.*ConnectionError"),
    ):
        list(client.pages("/api/v2/roles"))
    assert waits == [0.05, 0.1]


def test_a_listed_agent_without_a_positive_integer_id_fails_the_pull(fake, tmp_path):
    fake.agents.append(api_agent("../../etc", [1]))
    with (
        client_for(fake) as client,
        pytest.raises(FreshdeskError, match="page 1 holds a record without a positive integer id"),
    ):
        pull_day(client, tmp_path, "2026-12-01")
    assert list(tmp_path.iterdir()) == []
