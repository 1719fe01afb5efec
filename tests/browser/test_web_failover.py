"""The real page behind nginx and two replicas sharing Redis: when the replica serving the page's
session dies, the page's stream reconnects through nginx to the other one and keeps swapping with
the same faces and settings, without asking for the faces again."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from plasticvision.server.sessions.ids import log_name
from tests.browser.session_state import session_status, wait_for_settings
from tests.support.faces import distance, identity, on_canvas
from tests.support.fleet import fleet
from tests.support.server_process import ServerProcess

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def replica_of(replicas: list[ServerProcess], session_id: str) -> ServerProcess:
    """The replica whose JSON log shows this session's stream."""
    deadline = time.monotonic() + 5
    while True:
        owners = {r.port for r in replicas for line in r.request_log() if line.get("session") == log_name(session_id)}
        if len(owners) == 1 or time.monotonic() > deadline:
            assert len(owners) == 1, f"the session was served by {owners}, not by one replica"
            return next(r for r in replicas if r.port in owners)
        time.sleep(0.1)


def test_the_page_keeps_its_faces_and_settings_when_its_replica_dies(
    open_app, tmp_path, data_dir, swapper, read_test_image
):
    with fleet(tmp_path) as (nginx, replicas):
        app = open_app(nginx.url)
        app.give_consent()
        app.upload_sources(data_dir / "Tom_Hanks_54745.png")
        expect(app.testid("source-count")).to_have_text("1")
        app.testid("mouth_mask").uncheck()
        expected = {"mouth_mask": False, "sharpness": 0.3, "enhance": False, "opacity": 1.0, "swap_all": False}
        assert wait_for_settings(nginx.url, app.session_id, expected) == expected
        app.start_camera()
        app.wait_for_frames(2)

        owner = replica_of(replicas, app.session_id)
        owner.kill()
        status = app.testid("status")
        expect(status).to_have_attribute("data-state", "reconnecting")
        expect(status).to_have_attribute("data-state", "live", timeout=30_000)
        app.wait_for_frames(3)

        expect(app.testid("source-count")).to_have_text("1")  # not "upload them again"
        expect(app.testid("source-message")).not_to_contain_text("upload them again")
        expect(app.testid("mouth_mask")).not_to_be_checked()
        swapped = identity(swapper, app.snapshot("#preview"))
        hanks = identity(swapper, on_canvas(read_test_image("Tom_Hanks_54745.png"), 300, (170, 90)))
        assert distance(swapped, hanks) < distance(swapped, identity(swapper, app.snapshot("#camera")))
        server = session_status(nginx.url, app.session_id)
        assert server["faces_loaded"] == 1 and server["stream_connections"] == 1
        # Chromium notes the dropped WebSocket on the console; nothing else may go wrong
        assert [text for text in app.errors_besides_refusals() if "WebSocket" not in text] == []
