"""The model pickers and mask toggles in real Chromium, against a neural engine on synthetic catalog models."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.browser.session_state import session_status, wait_for_settings
from tests.support import onnx_fakes as fakes
from tests.support.live_uvicorn import serving

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def neural_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from plasticvision.api import FaceSwapper
    from plasticvision.config import ServerConfig
    from plasticvision.engines.inswapper.engine import InswapperEngine
    from plasticvision.models.store import ModelStore
    from plasticvision.server.app import create_app

    models = fakes.build_catalog_dir(tmp_path_factory.mktemp("models"), [fakes.face_at((320, 240), 64)],
                                     swappers=("hyperswap_1a_256", "inswapper_128"))
    (models / "codeformer.onnx").unlink()
    engine = InswapperEngine.from_store(ModelStore(models, checksums=False), providers=["CPUExecutionProvider"])
    config = ServerConfig(engine="inswapper", models_dir=models, model_checksums=False,
                          data_dir=tmp_path_factory.mktemp("server-data"))
    with serving(create_app(config, FaceSwapper(engine=engine))) as url:
        yield url


def test_pickers_offer_what_is_present_and_choices_reach_the_session(open_app, neural_url) -> None:
    app = open_app(neural_url)
    swapper = app.testid("swapper")
    expect(swapper.locator("option").first).to_have_text("server default (hyperswap_1a_256)")
    expect(swapper.locator('option[value="inswapper_128"]')).to_be_enabled()
    expect(swapper.locator('option[value="simswap_256"]')).to_be_disabled()  # listed, not on this server
    expect(app.testid("enhancer").locator('option[value="codeformer"]')).to_be_disabled()

    swapper.select_option("inswapper_128")
    app.testid("enhancer").select_option("gpen_bfr_512")
    app.testid("mask-occlusion").check()
    app.testid("mask-region").check()
    app.testid("region-left-eye").uncheck()
    expected = {"swapper": "inswapper_128", "enhancer": "gpen_bfr_512", "face_masks": ["occlusion", "region"]}
    assert wait_for_settings(neural_url, app.session_id, expected) == expected
    regions = session_status(neural_url, app.session_id)["settings"]["mask_regions"]
    assert "left-eye" not in regions and "right-eye" in regions

    app.page.reload()  # read back from the session
    expect(app.testid("swapper")).to_have_value("inswapper_128")
    expect(app.testid("mask-region")).to_be_checked()
    expect(app.testid("region-left-eye")).not_to_be_checked()
    swapper = app.testid("swapper")
    swapper.select_option("")  # back to the server's default
    assert wait_for_settings(neural_url, app.session_id, {"swapper": None}) == {"swapper": None}
    assert app.console_errors == []


def test_the_dlib_engine_offers_no_models(app) -> None:
    expect(app.testid("swapper")).to_be_disabled()
    expect(app.testid("enhancer")).to_be_disabled()
    expect(app.testid("mask-region")).to_be_disabled()
