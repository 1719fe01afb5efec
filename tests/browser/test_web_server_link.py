"""A link's `?server=` only proposes a server: the page opened with one pointing at another local server
sends that server neither the API key nor the session, before or after the user switches to it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.live_uvicorn import serving
from plasticvision.config import ServerConfig

pytestmark = pytest.mark.browser

KEY = "key-for-the-real-server-only"


def recording_server(seen: list[str]) -> Starlette:
    """The other server: it notes every request line and header it gets, and answers health (and nothing
    else) so the page has a reason to go on talking to it."""

    async def note(request: Request) -> JSONResponse:
        seen.append(" ".join([request.method, str(request.url), *(f"{k}: {v}" for k, v in request.headers.items())]))
        if request.url.path == "/" and request.method == "GET":
            return JSONResponse({"status": "ok", "engine": "elsewhere", "gpu": False, "engine_ready": True})
        return JSONResponse({"detail": "no such thing here"}, status_code=404)

    cors = Middleware(CORSMiddleware, allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
    app = Starlette(routes=[Route("/{path:path}", note, methods=["GET", "POST", "DELETE"])], middleware=[cors])
    app.state.config = ServerConfig()  # what `serving` reads its transport settings from
    return app


@pytest.fixture
def keyed_server_url(swapper, tmp_path):
    from plasticvision.server.app import create_app

    with serving(create_app(ServerConfig(engine="dlib", data_dir=tmp_path, api_key=KEY), swapper)) as url:
        yield url


def test_a_server_link_proposes_and_never_receives_the_key_or_session(open_app, keyed_server_url):
    seen: list[str] = []
    with serving(recording_server(seen)) as other:  # type: ignore[arg-type]
        app = open_app(keyed_server_url)
        app.testid("api-key").fill(KEY)
        app.page.get_by_role("button", name="Save and connect").click()
        expect(app.testid("settings-message")).to_be_empty()
        session = app.session_id

        app.open(f"{keyed_server_url}/?server={other}")  # the attacker's link, in the same browser
        expect(app.testid("server-proposal")).to_contain_text(other)
        expect(app.testid("server-url")).to_have_value(other)
        expect(app.testid("api-key")).to_have_value("")  # the key field shows no other server's key
        expect(app.page.locator("#server-health")).to_contain_text("dlib")  # still talking to its own server
        assert app.session_id == session
        time.sleep(1.0)
        assert seen == [], f"the page contacted the proposed server before the user chose it: {seen}"

        app.page.get_by_role("button", name="Save and connect").click()  # the user chooses it after all
        expect(app.page.locator("#server-health")).to_contain_text("elsewhere")
        time.sleep(1.0)
        assert seen, "the page never reached the server the user chose"
        leaked = [line for line in seen if KEY in line or session in line]
        assert leaked == [], f"the other server got the key or the session: {leaked}"

        app.page.get_by_role("button", name="Use default").click()  # back: the key is still there for its server
        expect(app.testid("api-key")).to_have_value(KEY)
        expect(app.page.locator("#server-health")).to_contain_text("dlib")
