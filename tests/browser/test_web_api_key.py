"""A server with an API key: the page says it needs one, and once the key is entered, uploads,
settings and the live stream all carry it (header for REST, query for the WebSocket)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.support.live_uvicorn import serving

pytestmark = pytest.mark.browser

KEY = "correct-horse-battery-staple"


@pytest.fixture
def keyed_server_url(swapper, tmp_path):
    from plasticvision.config import ServerConfig
    from plasticvision.server.app import create_app

    with serving(create_app(ServerConfig(engine="dlib", data_dir=tmp_path, api_key=KEY), swapper)) as url:
        yield url


def test_the_api_key_field_unlocks_a_protected_server(open_app, keyed_server_url, data_dir):
    app = open_app(keyed_server_url)  # the health check stays open
    expect(app.testid("settings-message")).to_contain_text("API key")

    app.testid("api-key").fill(KEY)
    app.page.get_by_role("button", name="Save and connect").click()
    expect(app.testid("settings-message")).to_be_empty()
    app.give_consent()
    app.upload_sources(data_dir / "Tom_Hanks_54745.png")
    expect(app.testid("source-count")).to_have_text("1")
    app.testid("swap_all").check()
    expect(app.testid("settings-message")).to_be_empty()
    app.start_camera()
    app.wait_for_frames(3)

    app.page.reload()  # the key is remembered
    expect(app.testid("api-key")).to_have_value(KEY)
    expect(app.testid("swap_all")).to_be_checked()
    assert app.errors_besides_refusals() == []
