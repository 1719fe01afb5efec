"""Who signs: the operator's certificate from PLASTICVISION_C2PA_CERT/_KEY or a signer hook, else the
install's self-signed one (made once, key readable by its owner only); bad settings are one clear error."""

from __future__ import annotations

import io
import stat
import sys
import types

import c2pa
import cv2
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from plasticvision.provenance.certificates import KEY_FILE, make_self_signed, self_signed_pair
from plasticvision.provenance.credentials import SigningUnavailable, install_signer, sign_bytes


@pytest.fixture
def signer_env(monkeypatch):
    for name in ("PLASTICVISION_C2PA_CERT", "PLASTICVISION_C2PA_KEY", "PLASTICVISION_C2PA_SIGNER"):
        monkeypatch.delenv(name, raising=False)
    install_signer.cache_clear()
    yield monkeypatch
    install_signer.cache_clear()


@pytest.fixture(scope="module")
def png(read_test_image) -> bytes:
    return cv2.imencode(".png", read_test_image("coffee.png"))[1].tobytes()


def signer_name(data: bytes) -> str:
    """Who signed `data`, which must read back intact (c2pa-python's own verdict)."""
    with c2pa.Reader("image/png", io.BytesIO(data)) as reader:
        assert reader.get_validation_state() == "Valid"
        return reader.get_active_manifest()["signature_info"]["common_name"]


def test_the_operators_certificate_signs(signer_env, png, tmp_path):
    cert, key = make_self_signed("Example Newsroom")
    (tmp_path / "c.pem").write_bytes(cert)
    (tmp_path / "k.pem").write_bytes(key)
    signer_env.setenv("PLASTICVISION_C2PA_CERT", str(tmp_path / "c.pem"))
    signer_env.setenv("PLASTICVISION_C2PA_KEY", str(tmp_path / "k.pem"))
    assert not install_signer().self_signed
    assert signer_name(sign_bytes(png, "image/png")) == "Example Newsroom"


def test_a_kms_style_hook_signs(signer_env, png):
    cert, key_pem = make_self_signed("Key in a KMS")
    key = serialization.load_pem_private_key(key_pem, None)
    hook = types.ModuleType("kms_hook_for_test")
    hook.make_signer = lambda: (cert, lambda data: key.sign(data, ec.ECDSA(hashes.SHA256())))
    signer_env.setitem(sys.modules, "kms_hook_for_test", hook)
    signer_env.setenv("PLASTICVISION_C2PA_SIGNER", "kms_hook_for_test:make_signer")
    assert signer_name(sign_bytes(png, "image/png")) == "Key in a KMS"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"PLASTICVISION_C2PA_CERT": "/nowhere/c.pem"}, "set both"),
        ({"PLASTICVISION_C2PA_CERT": "/nowhere/c.pem", "PLASTICVISION_C2PA_KEY": "/nowhere/k.pem"}, "cannot read"),
        ({"PLASTICVISION_C2PA_SIGNER": "no_such_module:make"}, "PLASTICVISION_C2PA_SIGNER"),
    ],
)
def test_bad_signing_settings_say_what_is_wrong(signer_env, env, message):
    for name, value in env.items():
        signer_env.setenv(name, value)
    with pytest.raises(SigningUnavailable, match=message):
        install_signer()


def test_the_install_certificate_is_made_once_and_kept_private(tmp_path):
    first = self_signed_pair(tmp_path, "install")
    assert self_signed_pair(tmp_path, "install") == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
