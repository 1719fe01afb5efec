"""`swap-image` and `detect`: one image in, one image (or JSON) out."""

from __future__ import annotations

import argparse
import json
import sys

from plasticvision.cli.facemap import add_map_flag, apply_maps, check_sources_or_maps
from plasticvision.cli.options import add_engine_flag, add_settings_flags, settings_from_args
from plasticvision.media.images import read_image, write_image
from plasticvision.provenance.credentials import Ingredient
from plasticvision.provenance.labels import label_file
from plasticvision.media.drawing import draw_faces


def register(commands: argparse._SubParsersAction) -> None:
    swap = commands.add_parser("swap-image", help="swap the source face into a target image")
    swap.add_argument("target", help="the image whose face is replaced")
    swap.add_argument("--source", "-s", action="append", default=[], help="source face image (repeat up to 10)")
    swap.add_argument("--output", "-o", required=True, help="output image (PNG is labelled as synthetic)")
    add_map_flag(swap)
    add_engine_flag(swap)
    add_settings_flags(swap)
    swap.set_defaults(run=run_swap_image)

    detect = commands.add_parser("detect", help="draw detected faces (boxes, landmarks, scores)")
    detect.add_argument("image")
    detect.add_argument("--output", "-o", help="annotated image to write")
    detect.add_argument(
        "--json", action="store_true", help="print the faces as JSON, numbered largest first (for --map photo#N)"
    )
    add_engine_flag(detect)
    detect.set_defaults(run=run_detect)


def run_swap_image(args: argparse.Namespace) -> int:
    from plasticvision.api import FaceSwapper

    check_sources_or_maps(args)
    settings = settings_from_args(args)
    sources = [read_image(path) for path in args.source]
    target = read_image(args.target)
    swapper = FaceSwapper(args.engine, models_dir=args.models_dir)
    if sources:
        swapper.set_sources(sources)
    apply_maps(swapper.default_session, args.map)
    report = swapper.swap_report(target, settings)
    write_image(args.output, report.frame, synthetic=not report.unchanged)
    if not report.unchanged:  # signed last, after the PNG's XMP
        inputs = [Ingredient.of_frame(f"source-{i}", source) for i, source in enumerate(sources)]
        label_file(args.output, target=Ingredient.of_frame("target", target), sources=inputs)
    if report.unchanged:
        print(f"warning: {report.message}; wrote the target unchanged to {args.output}", file=sys.stderr)
    else:
        print(f"swapped {report.faces_swapped} of {report.faces_found} face(s) -> {args.output}")
    return 0


def run_detect(args: argparse.Namespace) -> int:
    from plasticvision.api import FaceSwapper

    image = read_image(args.image)
    faces = FaceSwapper(args.engine, models_dir=args.models_dir).detect(image)
    if args.output:
        write_image(args.output, draw_faces(image, faces), synthetic=False)
    if args.json:
        listed = [{"id": number, **face.to_json()} for number, face in enumerate(faces, start=1)]
        print(json.dumps({"faces": listed}, indent=2))
    elif not args.output:
        print(f"{len(faces)} face(s)")
    return 0
