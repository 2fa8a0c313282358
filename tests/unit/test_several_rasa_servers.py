"""Several Rasa servers behind one client, without Rasa: each conversation goes to its own
server and stays there, a removed server moves only its own conversations, a server
that is down is passed over (and left alone a while), and a slow one is never resent to.
The servers are httpx mock transports (refusing connections when down). Then the
settings that spread Rasa and its action server over machines."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from types import SimpleNamespace

import httpx
import pytest
import yaml

from assistant.config import SettingsError, get_settings
from assistant.conversation import rasa_client
from assistant.conversation import rasa_engine as engine
from assistant.conversation.rasa_client import RasaClient, RasaUnavailable, Reply, rendezvous
from assistant.logs import trace

SERVERS = [f"http://rasa-{n}:5005" for n in range(4)]
CONVERSATIONS = [f"chat-{n}" for n in range(4000)]


def test_a_conversation_always_goes_to_the_same_server() -> None:
    first = {c: rendezvous(c, SERVERS)[0] for c in CONVERSATIONS}
    assert first == {c: rendezvous(c, list(reversed(SERVERS)))[0] for c in CONVERSATIONS}
    assert all(sorted(rendezvous(c, SERVERS)) == sorted(SERVERS) for c in CONVERSATIONS[:50])


def test_conversations_spread_evenly_over_the_servers() -> None:
    shares = Counter(rendezvous(c, SERVERS)[0] for c in CONVERSATIONS)
    assert set(shares) == set(SERVERS)
    assert all(abs(share - 1000) < 150 for share in shares.values()), shares


def test_removing_a_server_moves_only_its_own_conversations() -> None:
    before = {c: rendezvous(c, SERVERS)[0] for c in CONVERSATIONS}
    after = {c: rendezvous(c, SERVERS[1:])[0] for c in CONVERSATIONS}
    moved = {c for c in CONVERSATIONS if before[c] != after[c]}
    assert moved == {c for c in CONVERSATIONS if before[c] == SERVERS[0]}
    # ... each to the server that came next in its own order, spread over the others
    assert all(after[c] == rendezvous(c, SERVERS)[1] for c in moved)
    assert set(Counter(after[c] for c in moved)) == set(SERVERS[1:])


class Servers:
    """Rasa servers as the client sees them: `down` ones refuse connections, `slow` ones
    accept the message and never answer in time."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.slow: set[str] = set()
        self.posts: list[tuple[str, dict[str, object]]] = []  # (server, body) that arrived
        self.attempts: Counter[str] = Counter()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        server = f"http://{request.url.host}:{request.url.port}"
        self.attempts[server] += 1
        if server in self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.url.path == "/":
            return httpx.Response(200, text="Hello from Rasa: 3.6.21")
        self.posts.append((server, json.loads(request.content)))
        if server in self.slow:
            raise httpx.ReadTimeout("no answer in time", request=request)
        return httpx.Response(200, json=[{"text": f"answered by {server}"}])

    def client(self, hold_seconds: float = 0.0) -> RasaClient:
        return RasaClient(SERVERS, 4.0, httpx.MockTransport(self), hold_seconds=hold_seconds)


async def test_a_conversation_moves_to_its_next_server_while_its_own_is_down(
        monkeypatch: pytest.MonkeyPatch) -> None:
    servers, clock = Servers(), [1000.0]
    monkeypatch.setattr(rasa_client, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    client = servers.client()
    own, next_one = client.route("chat-7")[:2]
    assert await client.send("chat-7", "hello") == [Reply(f"answered by {own}")]
    servers.down.add(own)
    assert await client.send("chat-7", "hello?") == [Reply(f"answered by {next_one}")]
    # While it is remembered as down, turns go straight to the next server.
    tried = servers.attempts[own]
    assert await client.send("chat-7", "and now?") == [Reply(f"answered by {next_one}")]
    assert servers.attempts[own] == tried
    # Back, and its time out is over: the conversation goes home again.
    servers.down.clear()
    clock[0] += rasa_client.DEAD_SECONDS + 0.1
    assert await client.send("chat-7", "back?") == [Reply(f"answered by {own}")]
    await client.aclose()


async def test_a_slow_server_is_not_resent_to_and_not_held_for() -> None:
    """The message may have been handled already (a dose recorded): it goes nowhere else."""
    servers = Servers()
    client = servers.client(hold_seconds=60)
    own = client.route("chat-9")[0]
    servers.slow.add(own)
    with pytest.raises(RasaUnavailable):
        await client.send("chat-9", "I took it")
    assert [server for server, _ in servers.posts] == [own]
    await client.aclose()


async def test_a_message_is_held_only_while_every_server_is_down() -> None:
    servers = Servers()
    servers.down.update(SERVERS[1:])
    client = servers.client(hold_seconds=30)
    started = time.monotonic()
    for conversation in CONVERSATIONS[:20]:  # one server up: answered at once by it
        assert await client.send(conversation, "hi") == [Reply(f"answered by {SERVERS[0]}")]
    assert time.monotonic() - started < 2 and await client.ready()
    servers.down.add(SERVERS[0])
    assert not await client.ready()
    tried = servers.attempts.total()
    held = asyncio.create_task(client.send("chat-1", "hi"))
    while servers.attempts.total() < tried + 2 * len(SERVERS):  # each tried, then probed
        await asyncio.sleep(0.01)
    assert not held.done()
    servers.down.discard(SERVERS[2])  # one comes up: the held message goes there
    assert await asyncio.wait_for(held, 5) == [Reply(f"answered by {SERVERS[2]}")]
    await client.aclose()


async def test_each_message_carries_the_trace_id_as_its_metadata() -> None:
    servers = Servers()
    client = RasaClient(SERVERS[0], 4.0, httpx.MockTransport(servers))
    await client.send("chat-1", "untraced")
    token = trace.set("update-4242")
    try:
        await client.send("chat-1", "traced")
    finally:
        trace.reset(token)
    assert [body.get("metadata") for _, body in servers.posts] == [
        None, {"trace_id": "update-4242"}]
    await client.aclose()


# --- settings --------------------------------------------------------------------------

def test_the_rasa_servers_the_addresses_and_the_action_url_come_from_the_settings(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert get_settings().rasa_servers == ["http://127.0.0.1:5005"]  # CARELOOP_RASA_URL
    for name, value in {"CARELOOP_RASA_URLS": " http://10.0.0.5:5005/, http://10.0.0.6:5005,"
                                              "http://10.0.0.5:5005",
                        "CARELOOP_RASA_HOST": "0.0.0.0", "CARELOOP_ACTION_HOST": "10.0.0.7",
                        "CARELOOP_ACTION_URL": "http://10.0.0.7:5055/webhook"}.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.rasa_servers == ["http://10.0.0.5:5005", "http://10.0.0.6:5005"]
    command = engine.rasa_command(settings, engine.model_path(settings))
    assert command[command.index("-i") + 1] == "0.0.0.0"
    endpoints, _ = engine.write_endpoints(settings)
    assert yaml.safe_load(endpoints.read_text())["action_endpoint"] == {
        "url": "http://10.0.0.7:5055/webhook"}
    assert engine.action_server_env(settings)["SANIC_HOST"] == "10.0.0.7"
    assert engine.action_health_url(settings) == "http://10.0.0.7:5055/health"


@pytest.mark.parametrize("name, value", [("CARELOOP_RASA_URLS", "http://a:5005,10.0.0.6:5005"),
                                         ("CARELOOP_RASA_HOST", "eth0"),
                                         ("CARELOOP_ACTION_URL", "10.0.0.7:5055/webhook")])
def test_a_bad_rasa_address_stops_start_up_naming_the_variable(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(SettingsError, match=name):
        get_settings()
