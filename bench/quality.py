"""Quality report for the dlib engine: a side-by-side grid and per-pair numbers on hard cases.

For each pair (plain portraits, and sources or targets made hard on purpose: a hat brim, a
fringe, blue irises, a tiny source, a turned or off-centre target, a group photo) it swaps
with the product's still path and prints: identity distance of the output face to the source
and to the target (dlib recognizer; lower to source is better, < 0.6 = same person), the grey
change in a ring just outside the target's face outline (a halo shows here), the forehead
band score (how much darker the darkest band across the output forehead is than the target's
own profile), how much bluer the eye regions got, and for targets with something in front of the
face (thin glasses frames, a pen, a finger-like bar, drawn at the target's landmarks by
tests/target_occluders.py) the share of its pixels inside the face that the output kept (within
25 grey levels of the target). The grid has source, target, output
and zoomed target/output faces per row; with `--before DIR` (outputs saved by an earlier run
with `--save DIR`, e.g. from an older checkout) a "before" column sits beside the output.

`--no-occlusion` swaps with the occlusion mask off (`face_masks: [box]`, on dlib the feathered face
mask alone): the "before" of the grid in docs/quality.md.

    python -m bench.quality [--grid docs/quality.jpg] [--save DIR] [--before DIR] [--only NAME] [--no-occlusion]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

import tests.support.hard_cases as hc
import tests.support.target_occluders as to

from plasticvision import FaceSwapper, Settings
from plasticvision.engines.base import identity_distance
from plasticvision.types import Face, Frame

ROOT = Path(__file__).resolve().parent.parent
TILE = 220


def load(name: str) -> Frame:
    image = cv2.imread(str(ROOT / "tests" / "data" / name), cv2.IMREAD_COLOR)
    if image is None:
        raise SystemExit(f"missing test image {name}")
    return image


def on_canvas(image: Frame, size: int, at: tuple[int, int]) -> Frame:
    canvas = np.full((480, 640, 3), (90, 110, 120), np.uint8)
    x, y = at
    canvas[y : y + size, x : x + size] = cv2.resize(image, (size, size), interpolation=cv2.INTER_CUBIC)
    return canvas


def build_pairs(swapper: FaceSwapper) -> dict[str, tuple[Frame, Frame]]:
    """name -> (source, target); every hard case is painted using the image's own landmarks."""
    astronaut, hanks = load("astronaut.png"), load("Tom_Hanks_54745.png")
    hanks_frame = on_canvas(hanks, 300, (170, 90))
    face: Callable[[Frame], Face] = lambda image: swapper.detect(image)[0]  # noqa: E731
    group, _ = hc.group(astronaut, hanks)
    pairs = {
        "hanks > astronaut": (hanks, astronaut),
        "astronaut > hanks": (astronaut, hanks_frame),
        "hat brim > hanks": (hc.with_hat_brim(astronaut, face(astronaut)), hanks_frame),
        "fringe > hanks": (hc.with_fringe(astronaut, face(astronaut)), hanks_frame),
        "hat brim > astronaut": (hc.with_hat_brim(hanks_frame, face(hanks_frame)), astronaut),
        "hanks > turned astronaut": (hanks, hc.turned(astronaut)),
        "astronaut > turned hanks": (astronaut, hc.turned(hanks_frame, 0.3)),
        "hanks > off-centre astronaut": (hanks, hc.offset(astronaut, 150)),
        "blue irises > astronaut": (hc.with_blue_irises(hanks_frame, face(hanks_frame)), astronaut),
        "tiny source > hanks": (hc.small(astronaut[:, ::-1], face(astronaut[:, ::-1].copy()), 64), hanks_frame),
        "hanks > group (swap_all)": (hanks, group),
    }
    return pairs | {name: (source, target) for name, (source, target, _) in covered_targets(swapper).items()}


def covered_targets(swapper: FaceSwapper) -> dict[str, tuple[Frame, Frame, np.ndarray]]:
    """name -> (source, target, drawn pixels): glasses frames, a pen or a finger in front of the target."""
    astronaut, hanks = load("astronaut.png"), load("Tom_Hanks_54745.png")
    hanks_frame = on_canvas(hanks, 300, (170, 90))
    rows = {}
    for source, target, who in ((hanks, astronaut, "astronaut"), (astronaut, hanks_frame, "hanks")):
        face = swapper.detect(target)[0]
        for what, draw in (("in glasses", to.with_glasses), ("with a pen", to.with_pen), ("with a finger", to.with_finger)):
            covered, drawn = draw(target, face)
            rows[f"{'astronaut' if who == 'hanks' else 'hanks'} > {who} {what}"] = (source, covered, drawn)
    return rows


def tile(image: Frame, box: np.ndarray | None = None) -> Frame:
    """The image (or a zoom on `box`, grown a little) fitted into a TILE x TILE square."""
    if box is not None:
        x0, y0, x1, y1 = box
        grow = 0.35 * max(x1 - x0, y1 - y0)
        h, w = image.shape[:2]
        x0, y0 = max(int(x0 - grow), 0), max(int(y0 - grow * 1.3), 0)
        image = image[y0 : min(int(y1 + grow) + 1, h), x0 : min(int(x1 + grow) + 1, w)]
    scale = TILE / max(image.shape[:2])
    fitted = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    out = np.full((TILE, TILE, 3), 255, np.uint8)
    out[: fitted.shape[0], : fitted.shape[1]] = fitted
    return out


def label(image: Frame, text: str) -> Frame:
    out = image.copy()
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 3, cv2.LINE_AA)
    cv2.putText(out, text, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return out


def measure(swapper: FaceSwapper, source: Frame, target: Frame, output: Frame, count: int) -> dict[str, float]:
    engine = swapper.engine
    source_id = engine.embed(source, swapper.detect(source)[0])
    faces = swapper.detect(target)
    row: dict[str, float] = {"faces": float(len(faces))}
    found = swapper.detect(output)
    to_source, to_target = [], []
    for face in faces[:count]:
        matches = [f for f in found if np.linalg.norm(np.subtract(f.centre, face.centre)) < 0.3 * face.width]
        if not matches:
            to_source.append(float("nan"))
            continue
        out_id = engine.embed(output, matches[0])
        to_source.append(identity_distance(out_id, source_id))
        to_target.append(identity_distance(out_id, engine.embed(target, face)))
    row["to_source"] = float(np.nanmax(to_source))
    row["to_target"] = float(np.nanmin(to_target)) if to_target else float("nan")
    row["ring"] = max(hc.ring_change(target, output, face) for face in faces[:count])
    row["band"] = max(hc.forehead_band(target, output, face) for face in faces[:count])
    row["eye_tint"] = max(hc.eye_tint(target, output, face) for face in faces[:count])
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid", default="quality.jpg", help="grid image to write (.jpg or .png)")
    parser.add_argument("--save", help="folder to save each pair's output in (for a later --before)")
    parser.add_argument("--before", help="folder of outputs from an earlier --save run, shown beside these")
    parser.add_argument("--only", help="only pairs whose name contains this")
    parser.add_argument("--no-occlusion", action="store_true", help="swap without the occlusion mask")
    args = parser.parse_args(argv)
    swapper = FaceSwapper("dlib")
    rows, table = [], []
    drawings = {name: drawn for name, (_, _, drawn) in covered_targets(swapper).items()}
    for name, (source, target) in build_pairs(swapper).items():
        if args.only and args.only not in name:
            continue
        swap_all = "swap_all" in name
        session = swapper.new_session()
        session.set_sources([source])
        start = time.perf_counter()
        report = session.swap(target, Settings(swap_all=swap_all, face_masks=("box",) if args.no_occlusion else ()))
        ms = (time.perf_counter() - start) * 1e3
        output = report.frame
        slug = "".join(c if c.isalnum() else "_" for c in name)
        if args.save:
            Path(args.save).mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(Path(args.save) / f"{slug}.png"), output)
        count = len(swapper.detect(target)) if swap_all else 1
        numbers = measure(swapper, source, target, output, count)
        numbers.update(swapped=float(report.faces_swapped), ms=ms)
        drawn = drawings.get(name)
        numbers["kept"] = float("nan") if drawn is None else 100 * to.kept_share(target, output, drawn, swapper.detect(target)[0])
        table.append((name, numbers))
        box = swapper.detect(target)[0].box
        cells = [label(tile(source), name), label(tile(target), "target"), label(tile(output), "output")]
        cells.append(label(tile(target, None if swap_all else box), "target face"))
        if args.before:
            before = cv2.imread(str(Path(args.before) / f"{slug}.png"), cv2.IMREAD_COLOR)
            if before is not None:
                cells.append(label(tile(before, None if swap_all else box), "before"))
        cells.append(label(tile(output, None if swap_all else box), "after" if args.before else "output face"))
        rows.append(np.hstack(cells))
    width = max(r.shape[1] for r in rows)
    grid = np.vstack([np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows])
    cv2.imwrite(args.grid, grid, [cv2.IMWRITE_JPEG_QUALITY, 85])  # ignored for PNG
    print(f"{'pair':34s} {'faces':>5s} {'swapped':>7s} {'to src':>7s} {'to tgt':>7s} {'ring':>6s} {'band':>6s} {'eyes b*':>7s} {'kept %':>6s} {'ms':>6s}")
    for name, n in table:
        print(
            f"{name:34s} {n['faces']:5.0f} {n['swapped']:7.0f} {n['to_source']:7.3f} {n['to_target']:7.3f} "
            f"{n['ring']:6.2f} {n['band']:6.1f} {n['eye_tint']:7.1f} {n['kept']:6.1f} {n['ms']:6.0f}"
        )
    print(f"grid: {args.grid}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
