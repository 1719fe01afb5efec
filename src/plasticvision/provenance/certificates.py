"""The per-install self-signed signing certificate, made on first run when the operator has none.

C2PA accepts a self-signed certificate only as an end-entity certificate: ES256 on P-256,
`CA:false`, key usage digitalSignature and an extended key usage (emailProtection here).
Verifiers then report the manifest as signed by an untrusted credential
(`signingCredential.untrusted`); docs/responsible-use.md says how to get a trusted one.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

SELF_SIGNED_DAYS = 3650
CERT_FILE = "c2pa-self-signed.pem"
KEY_FILE = "c2pa-self-signed.key"


def self_signed_pair(folder: Path, common_name: str) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) from `folder`, made there on first use (the key 0600)."""
    cert_path, key_path = folder / CERT_FILE, folder / KEY_FILE
    if not (cert_path.exists() and key_path.exists()):
        cert_pem, key_pem = make_self_signed(common_name)
        _write_private(key_path, key_pem)
        _write_private(cert_path, cert_pem)  # last: its presence says the pair is complete
    return cert_path.read_bytes(), key_path.read_bytes()


def make_self_signed(common_name: str) -> tuple[bytes, bytes]:
    """A new P-256 key and an end-entity certificate for it that C2PA signing accepts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "PlasticVision (self-signed, untrusted)"),
        ]
    )
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=SELF_SIGNED_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        # c2pa-rs refuses a self-signed certificate without it ("the certificate is invalid")
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def _write_private(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + f".{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temp, path)
