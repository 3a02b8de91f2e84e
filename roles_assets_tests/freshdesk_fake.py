"""A Freshdesk look-alike on 127.0.0.1 for the extraction tests: a real HTTP server in a thread.

It checks Basic auth (key as user, ``X`` as password), pages lists by ``page``/``per_page`` with a
``Link: <...>; rel="next"`` header, sends ``X-RateLimit-*`` headers, answers a deleted agent's
detail with 404, and serves scripted faults (a status with headers, or a slow answer) to the
first requests whose path starts with a given prefix. It records every request it receives.
"""

import base64
import contextlib
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from roles_assets_tests.helpers import role

API_KEY = "fake-key-3f9c1e7a"  # distinctive, so a test can search output for it
LIST_ONLY = ("role_ids", "group_ids", "skill_ids")  # fields only an agent's detail carries


@dataclass
class Fault:
    status: int = 503
    headers: dict = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering: longer than a read timeout, it is one


class FakeFreshdesk:
    def __init__(self, roles: list[dict], agents: list[dict], per_page_cap: int = 100):
        self.roles, self.agents, self.per_page_cap = roles, agents, per_page_cap
        self.deleted: set[int] = set()  # listed, but their detail answers 404
        self.faults: list[tuple[str, Fault]] = []  # (path prefix, fault), served first-come
        self.next_link: dict[
            tuple[str, int], str
        ] = {}  # (path, page) -> a Link URL to send instead
        self.requests: list[tuple[float, str]] = []  # (time, path with query) of each request
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def fail(self, prefix: str, *faults: Fault) -> None:
        self.faults.extend((prefix, fault) for fault in faults)

    def paths(self) -> list[str]:
        return [path for _, path in self.requests]

    def _next_fault(self, path: str) -> Fault | None:
        with self._lock:
            for index, (prefix, fault) in enumerate(self.faults):
                if path.startswith(prefix):
                    del self.faults[index]
                    return fault
        return None

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                with fake._lock:
                    fake.requests.append((time.monotonic(), self.path))
                fault = fake._next_fault(self.path)
                if fault is not None:
                    time.sleep(fault.delay)
                    if fault.status == 200:
                        fault = None  # only slow: answer normally, late
                    else:
                        return self._send(fault.status, {"description": "fault"}, fault.headers)
                expected = "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()
                if self.headers.get("Authorization") != expected:
                    body = {
                        "code": "invalid_credentials",
                        "message": "You have to be logged in to perform this action.",
                    }
                    return self._send(401, body)
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                if url.path == "/api/v2/roles":
                    return self._send_page(url.path, fake.roles, query)
                if url.path == "/api/v2/agents":
                    listed = [
                        {k: v for k, v in a.items() if k not in LIST_ONLY} for a in fake.agents
                    ]
                    return self._send_page(url.path, listed, query)
                if url.path.startswith("/api/v2/agents/"):
                    agent_id = url.path.rsplit("/", 1)[1]
                    for agent in fake.agents:
                        if str(agent["id"]) == agent_id and agent["id"] not in fake.deleted:
                            return self._send(200, agent)
                return self._send(404, {"description": "not found", "errors": []})

            def _send_page(self, path, records, query):
                page, per_page = (
                    int(query.get("page", 1)),
                    min(int(query.get("per_page", 30)), fake.per_page_cap),
                )
                chunk = records[(page - 1) * per_page : page * per_page]
                headers = {}
                link = fake.next_link.get((path, page))
                if link is None and page * per_page < len(records):
                    link = f"{fake.base_url}{path}?per_page={per_page}&page={page + 1}"
                if link:
                    headers["Link"] = f'<{link}>; rel="next"'
                self._send(200, chunk, headers)

            def _send(self, status, body, headers=None):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("X-RateLimit-Total", "700")
                self.send_header("X-RateLimit-Remaining", str(max(0, 700 - len(fake.requests))))
                self.send_header("X-RateLimit-Used-CurrentRequest", "1")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                # The client may have given up (a read timeout): nothing to answer then.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        return Handler


def api_role(role_id: int, name: str = "Role", **fields) -> dict:
    """A role as the API lists it: no agent_ids (assignments come from the agents' details)."""
    record = role(role_id, name, **fields)
    del record["agent_ids"]
    return record


def api_agent(agent_id: int, role_ids: list[int], **fields) -> dict:
    """An agent's detail as ``GET /api/v2/agents/{id}`` answers it."""
    return {
        "id": agent_id,
        "available": True,
        "occasional": False,
        "ticket_scope": 1,
        "type": "support_agent",
        "role_ids": role_ids,
        "group_ids": [],
        "skill_ids": [],
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "contact": {"name": f"Agent {agent_id}", "email": f"agent{agent_id}@example.com"},
        **fields,
    }
