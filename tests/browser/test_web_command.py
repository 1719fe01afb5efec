"""`plasticvision web`: the static app on its own port, pointed at the server by --server;
and the server URL field, which points the page elsewhere and is remembered."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import httpx
import pytest
from playwright.sync_api import expect

from plasticvision.cli import main
from tests.browser.session_state import session_status
from tests.support.live_uvicorn import free_port, serving

START_TIMEOUT_S = 30
RUN_CLI = "import sys; from plasticvision.cli import main; sys.exit(main())"


@pytest.fixture
def web_port() -> int:
    return free_port()


@pytest.fixture
def server_url(swapper, tmp_path, web_port):
    """A server that lets the page served by `plasticvision web` call it: its origin is in cors_origins,
    as `plasticvision web` tells the user to do (other origins' pages get no CORS headers by default)."""
    from plasticvision.config import ServerConfig
    from plasticvision.server.app import create_app

    config = ServerConfig(engine="dlib", data_dir=tmp_path, cors_origins=[f"http://127.0.0.1:{web_port}"])
    with serving(create_app(config, swapper)) as url:
        yield url


@pytest.fixture
def web_url(server_url, web_port):
    """`plasticvision web --server <test server>` running in its own process."""
    port = web_port
    command = [sys.executable, "-c", RUN_CLI, "web", "--port", str(port), "--server", server_url]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT_S
    try:
        while True:
            try:
                httpx.get(url, timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"plasticvision web did not start:\n{process.communicate()[0]}")
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.browser
def test_web_command_serves_the_app_pointed_at_the_server(open_app, web_url, server_url, data_dir):
    assert f"defaultServer = {json.dumps(server_url)};" in httpx.get(f"{web_url}/static/config.js").text
    app = open_app(web_url)  # waits until the page reached the server's health check
    expect(app.testid("server-url")).to_have_value(server_url)
    app.give_consent()
    app.upload_sources(data_dir / "Tom_Hanks_54745.png")
    expect(app.testid("source-count")).to_have_text("1")
    assert session_status(server_url, app.session_id)["faces_loaded"] == 1
    app.start_camera()
    app.wait_for_frames(3)
    assert app.console_errors == []


@pytest.mark.browser
def test_server_url_is_editable_and_remembered(app, server_url):
    unreachable = f"http://127.0.0.1:{free_port()}"
    app.testid("server-url").fill(unreachable)
    app.page.get_by_role("button", name="Save and connect").click()
    health = app.page.locator("#server-health")
    expect(health).to_contain_text("cannot reach the server")

    app.page.reload()
    expect(app.testid("server-url")).to_have_value(unreachable)
    expect(health).to_contain_text("cannot reach the server")

    app.page.get_by_role("button", name="Use default").click()
    expect(health).to_have_attribute("data-kind", "ok")
    expect(app.testid("server-url")).to_have_value("")


def test_web_command_refuses_a_server_that_is_not_a_url(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["web", "--server", "ftp://example"])
    assert exit_info.value.code == 2
    assert "expected a URL like http://127.0.0.1:8000" in capsys.readouterr().err
