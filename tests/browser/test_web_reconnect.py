"""The live stream survives a server restart: the page says it is reconnecting, streams again, and
asks for the source faces the new server process does not have."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.live_uvicorn import serving

pytestmark = pytest.mark.browser


def test_stream_reconnects_after_the_server_restarts(open_app, swapper, data_dir, tmp_path):
    from plasticvision.config import ServerConfig
    from plasticvision.server.app import create_app

    config = ServerConfig(engine="dlib", data_dir=tmp_path)
    with serving(create_app(config, swapper)) as url:
        app = open_app(url)
        app.give_consent()
        app.upload_sources(data_dir / "Tom_Hanks_54745.png")
        expect(app.testid("source-count")).to_have_text("1")
        app.start_camera()
        app.wait_for_frames(2)

    status = app.testid("status")
    expect(status).to_have_attribute("data-state", "reconnecting")
    expect(status).to_contain_text("Reconnecting in")

    port = int(url.rsplit(":", 1)[1])
    with serving(create_app(config, swapper), port=port):
        expect(status).to_have_attribute("data-state", "live", timeout=30_000)
        app.wait_for_frames(2)
        # the new server process has no sessions: the page says the faces must be uploaded again
        expect(app.testid("source-count")).to_have_text("0")
        expect(app.testid("source-message")).to_contain_text("upload them again")
