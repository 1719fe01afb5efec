"""Reads a file's Content Credentials with c2pa-python and says, in one word, what they are worth.

    valid       signed by a trusted certificate, content unchanged
    untrusted   content unchanged, but the signer is not on the verifier's trust list
                (the per-install self-signed certificate always reads so)
    tampered    the manifest is there, but the content or manifest changed after signing
    none        no manifest
    unsupported a format c2pa-python cannot read
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from plasticvision.provenance.credentials import c2pa

UNTRUSTED_CODES = {"signingCredential.untrusted"}
HARMLESS_CODES = {"signingCredential.ocsp.skipped", "timeStamp.untrusted"}


@dataclass(frozen=True)
class CredentialsReport:
    state: str
    failures: tuple[str, ...] = ()  # the validation failure codes, as c2pa reports them
    signer: str | None = None
    source_type: str | None = None  # the digitalSourceType of the active manifest's actions
    generator: str | None = None
    actions: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict:
        return {
            "state": self.state,
            "failures": list(self.failures),
            "signer": self.signer,
            "digital_source_type": self.source_type,
            "claim_generator": self.generator,
            "actions": list(self.actions),
        }


def read_credentials(data: bytes, mime: str) -> CredentialsReport:
    """The state of `data`'s manifest (see the module docstring)."""
    if c2pa is None:
        return CredentialsReport("unsupported", ("c2pa-python is not installed",))
    if mime not in c2pa.Reader.get_supported_mime_types():
        return CredentialsReport("unsupported")
    try:
        with c2pa.Reader(mime, io.BytesIO(data)) as reader:
            state = reader.get_validation_state()
            results = reader.get_validation_results() or {}
            active = reader.get_active_manifest() or {}
    except c2pa.C2paError as exc:
        if "ManifestNotFound" in type(exc).__name__ or "JumbfNotFound" in str(exc):
            return CredentialsReport("none")
        return CredentialsReport("tampered", (f"unreadable manifest: {exc}",))
    failures = tuple(item["code"] for item in _failures(results))
    serious = [code for code in failures if code not in UNTRUSTED_CODES | HARMLESS_CODES]
    if state == "Invalid" or serious:
        verdict = "tampered"
    elif any(code in UNTRUSTED_CODES for code in failures):
        verdict = "untrusted"
    else:
        verdict = "valid"
    actions = _actions(active)
    signature = active.get("signature_info") or {}
    generators = active.get("claim_generator_info") or [{}]
    return CredentialsReport(
        verdict,
        failures,
        signer=signature.get("common_name") or signature.get("issuer"),
        source_type=next((a["digitalSourceType"] for a in actions if "digitalSourceType" in a), None),
        generator=generators[0].get("name"),
        actions=tuple(a.get("action", "") for a in actions),
    )


def _failures(results: dict) -> list[dict]:
    found = list((results.get("activeManifest") or {}).get("failure", []))
    for delta in results.get("ingredientDeltas", []):
        found += (delta.get("validationDeltas") or {}).get("failure", [])
    return found


def _actions(manifest: dict) -> list[dict]:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label", "").startswith("c2pa.actions"):
            return list(assertion.get("data", {}).get("actions", []))
    return []
