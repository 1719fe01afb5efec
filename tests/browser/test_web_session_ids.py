"""The page on a server that requires sessions: its ids are the server's (128 random bits, signed), and
everything it sends carries one."""

from __future__ import annotations

import re

import pytest

from tests.browser.session_state import wait_for_settings
from tests.support.live_uvicorn import serving

pytestmark = pytest.mark.browser


def test_the_page_works_where_sessions_are_required_with_unguessable_ids(open_app, make_app):
    with serving(make_app(require_session=True)) as url:
        first, second = open_app(url), open_app(url)
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{16}", first.session_id), first.session_id  # issued
        assert first.session_id != second.session_id
        first.testid("swap_all").check()
        expected = {"mouth_mask": True, "sharpness": 0.3, "enhance": False, "opacity": 1.0, "swap_all": True}
        assert wait_for_settings(url, first.session_id, expected) == expected
        assert first.console_errors == [] and second.console_errors == []
