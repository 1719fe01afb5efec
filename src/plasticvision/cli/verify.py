"""`verify FILE|URL|-`: report a file's Content Credentials and watermark; exit 0 when marked, 1 when not."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from plasticvision.provenance.verify import MAX_FRAMES, VerifyReport, verify_bytes, verify_url

CREDENTIAL_WORDS = {
    "valid": "valid, signed by a trusted certificate",
    "untrusted": "intact, but the signer is not on a trust list (a self-signed install certificate?)",
    "tampered": "TAMPERED: the file changed after it was signed",
    "none": "none",
    "unsupported": "not readable for this format",
}


def register(commands: argparse._SubParsersAction) -> None:
    verify = commands.add_parser(
        "verify",
        help="check a file, URL or stream for Content Credentials and the watermark (exit 0 when marked)",
    )
    verify.add_argument("target", help="an image or video file, an http(s)/rtsp/rtmp URL, or - for standard input")
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    verify.add_argument("--frames", type=int, default=MAX_FRAMES, help=f"video frames to check (default {MAX_FRAMES})")
    verify.set_defaults(run=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise ValueError("--frames must be at least 1")
    report = check(args.target, args.frames)
    print(json.dumps(report.to_json(), indent=2) if args.json else describe(report))
    return 0 if report.marked else 1


def check(target: str, frames: int) -> VerifyReport:
    if target == "-":
        return verify_bytes(sys.stdin.buffer.read(), frames)
    if "://" in target:
        return verify_url(target, frames)
    path = Path(target)
    if not path.is_file():
        raise ValueError(f"{target}: no such file")
    return verify_bytes(path.read_bytes(), frames)


def describe(report: VerifyReport) -> str:
    mark = report.watermark
    lines = [f"{'MARKED' if report.marked else 'not marked'} ({report.kind})"]
    if report.credentials is not None:
        credentials = report.credentials
        lines.append(f"  Content Credentials: {CREDENTIAL_WORDS[credentials.state]}")
        if credentials.source_type:
            lines.append(f"    source type: {credentials.source_type.rsplit('/', 1)[-1]}; signer: {credentials.signer}")
    found = f"found in {mark.frames_marked} of {mark.frames_checked} frames ({mark.window} at a time)" if report.kind != "image" else (
        "found" if mark.marked else "not found"
    )
    install = mark.best.to_json()["install_id"]
    scores = f"best score {mark.best.score:.1f}, windows together {mark.best.spread:.1f}"
    lines.append(f"  watermark: {found} ({scores}{f', install {install}' if install else ''})")
    return "\n".join(lines)
