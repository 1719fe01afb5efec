"""The settings panel: changes reach the session on the server; refusals are shown and undone."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.session_state import session_status, wait_for_settings

pytestmark = pytest.mark.browser


def test_settings_changes_reach_the_server(app, server_url):
    app.testid("mouth_mask").uncheck()
    app.testid("swap_all").check()
    app.testid("opacity").focus()
    for _ in range(10):  # 1.0 in steps of 0.05
        app.page.keyboard.press("ArrowLeft")
    expect(app.page.locator("#opacity-value")).to_have_text("0.50")

    expected = {"mouth_mask": False, "sharpness": 0.3, "enhance": False, "opacity": 0.5, "swap_all": True}
    assert wait_for_settings(server_url, app.session_id, expected) == expected
    expect(app.testid("settings-message")).to_be_empty()
    assert app.console_errors == []


def test_settings_are_read_back_after_a_reload(app, server_url):
    app.testid("swap_all").check()
    expected = {"mouth_mask": True, "sharpness": 0.3, "enhance": False, "opacity": 1.0, "swap_all": True}
    assert wait_for_settings(server_url, app.session_id, expected) == expected
    session_id = app.session_id
    app.page.reload()
    assert app.session_id == session_id
    expect(app.testid("swap_all")).to_be_checked()


def test_a_refused_setting_shows_why_and_is_undone(app, server_url):
    app.testid("enhance").click()  # the dlib engine cannot enhance
    message = app.testid("settings-message")
    expect(message).to_have_attribute("data-kind", "error")
    expect(message).to_contain_text("inswapper")
    expect(app.testid("enhance")).not_to_be_checked()
    assert session_status(server_url, app.session_id)["settings"]["enhance"] is False
    assert app.errors_besides_refusals() == []
