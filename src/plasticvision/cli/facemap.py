"""`--map TARGET=SOURCE[,SOURCE...]` for `swap-image` and `swap-video`: who becomes whom, from files.

TARGET is a photo of the person to replace (one face, or `photo.jpg#N` for face N as
`plasticvision detect --json` numbers them); SOURCE is 1-10 photos of who they become.
With maps, only the mapped people are swapped (`--swap-all` puts `--source` on the others).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass

from plasticvision.media.images import read_image
from plasticvision.pipeline.session import SwapSession

TARGET_FACE = re.compile(r"(?P<path>.+?)#(?P<face>[1-9][0-9]*)")


@dataclass(frozen=True)
class MapSpec:
    target: str
    face: int | None  # which face of the target photo, 1 = largest; None: it must show one
    sources: tuple[str, ...]


def map_spec(text: str) -> MapSpec:
    """Parses `target.jpg[#N]=source.jpg[,source2.jpg...]`."""
    target, sep, sources = text.partition("=")
    paths = tuple(path for path in sources.split(",") if path)
    if not sep or not target or not paths:
        raise argparse.ArgumentTypeError(f"expected TARGET=SOURCE[,SOURCE...], got {text!r}")
    numbered = TARGET_FACE.fullmatch(target)
    if numbered:
        return MapSpec(numbered["path"], int(numbered["face"]), paths)
    return MapSpec(target, None, paths)


def add_map_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--map", action="append", default=[], type=map_spec, metavar="TARGET=SOURCE[,SOURCE...]",
        help="put SOURCE (1-10 photos, comma-separated) on the person in the photo TARGET (TARGET#N: face N "
        "as `detect --json` numbers them); repeat for more people; unmapped people stay as they are",
    )


def check_sources_or_maps(args: argparse.Namespace) -> None:
    if not args.source and not args.map:
        raise ValueError("give --source (who to put on the largest face) or at least one --map TARGET=SOURCE")


def apply_maps(session: SwapSession, specs: list[MapSpec]) -> None:
    """One identity per distinct set of source photos, then each target person mapped to theirs."""
    names: dict[tuple[str, ...], str] = {}
    for spec in specs:
        if spec.sources not in names:
            names[spec.sources] = f"source {len(names) + 1}"
            session.face_map.add_identity(names[spec.sources], [read_image(path) for path in spec.sources])
        session.face_map.map_reference(read_image(spec.target), names[spec.sources], spec.face)
