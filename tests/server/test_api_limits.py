"""Limits and guards of the server: idle sessions, stream connection limits, CORS and the stream's Origin check."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from plasticvision.server.sessions.registry import SessionRegistry, TooManySessions


def test_stream_connections_per_session_are_limited_with_close_code_1013(make_app):
    with TestClient(make_app(max_ws_per_session=1, max_ws_connections=2)) as client:
        with client.websocket_connect("/ws/stream?session=a") as first:
            first.receive_text()
            with client.websocket_connect("/ws/stream?session=a") as second:
                with pytest.raises(WebSocketDisconnect) as closed:
                    second.receive_text()
                assert closed.value.code == 1013 and "this session already has" in closed.value.reason
            with client.websocket_connect("/ws/stream?session=b") as other:
                assert json.loads(other.receive_text()) == {"status": "connected"}
                with client.websocket_connect("/ws/stream?session=c") as third:
                    with pytest.raises(WebSocketDisconnect) as closed:
                        third.receive_text()
                    assert closed.value.code == 1013 and "too many" in closed.value.reason
        with client.websocket_connect("/ws/stream?session=a") as again:  # freed on disconnect
            assert json.loads(again.receive_text()) == {"status": "connected"}


def test_cors_allows_only_the_configured_origins(make_app):
    with TestClient(make_app(cors_origins=["http://good.example"])) as client:
        preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x-session-id"}
        good = client.options("/settings", headers={"Origin": "http://good.example", **preflight})
        assert good.headers["access-control-allow-origin"] == "http://good.example"
        bad = client.options("/settings", headers={"Origin": "http://evil.example", **preflight})
        assert "access-control-allow-origin" not in bad.headers
        with client.websocket_connect("/ws/stream", headers={"Origin": "http://evil.example"}) as ws:
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 1008 and "origin" in closed.value.reason
        with client.websocket_connect("/ws/stream", headers={"Origin": "http://good.example"}) as ws:
            assert json.loads(ws.receive_text()) == {"status": "connected"}


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_idle_sessions_expire_unless_a_stream_holds_them(swapper):
    clock = FakeClock()
    registry = SessionRegistry(
        swapper, max_sessions=3, idle_s=60, max_connections=4, max_connections_per_session=2, clock=clock
    )
    first = registry.get("a")
    assert registry.get("a") is first and len(registry) == 2
    with registry.connect("b"):
        clock.now = 120
        assert len(registry) == 2  # 'a' expired, 'b' is held by its stream
        assert registry.get("a") is not first
    clock.now = 121
    with pytest.raises(TooManySessions):
        registry.get("c")  # 'a', 'b' and the default one
    clock.now = 300
    registry.get("c")  # the idle ones made room
    assert len(registry) == 2
    assert registry.get("default") is swapper.default_session
