"""The live stream survives a server restart: the page says it is reconnecting, then streams again."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from live_server import serving

pytestmark = pytest.mark.browser


def test_stream_reconnects_after_the_server_restarts(open_app, swapper, tmp_path):
    from plasticvision.config import ServerConfig
    from plasticvision.server.app import create_app

    config = ServerConfig(engine="dlib", data_dir=tmp_path)
    with serving(create_app(config, swapper)) as url:
        app = open_app(url)
        app.give_consent()
        app.start_camera()
        app.wait_for_frames(2)

    status = app.testid("status")
    expect(status).to_have_attribute("data-state", "reconnecting")
    expect(status).to_contain_text("Reconnecting in")

    port = int(url.rsplit(":", 1)[1])
    with serving(create_app(config, swapper), port=port):
        expect(status).to_have_attribute("data-state", "live", timeout=30_000)
        app.wait_for_frames(2)
