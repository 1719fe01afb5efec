"""Our model inputs and masks against FaceFusion 3.8.1's own code, on real photos with random face poses.

FaceFusion is not a dependency: point this at a checkout (`git clone -b 3.8.1
https://github.com/facefusion/facefusion`) and it imports FaceFusion's modules from there,
replaces only the calls that would run a model (`forward_occlude_face`, `forward_parse_face`,
`forward_convert_embedding`, `get_static_model_initializer`) with recorders that hand back
random outputs, and compares, per catalog model: the aligned crop and its matrix, the swapper
and enhancer input tensors, the output de-normalisation, the source embedding, the box,
occlusion and region masks, the occluder's and parser's input tensors and the pasted frame.

    python -m bench.facefusion_parity --facefusion /path/to/facefusion [--poses 20]

Prints the largest difference per check and exits 1 when one is over its tolerance.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
PHOTOS = ("astronaut.png", "t1.jpg", "mask_blue.jpg", "camera.png")
TOLERANCE = {"crop": 1.0, "matrix": 1e-9, "tensor": 1e-5, "pixels": 1e-4, "mask": 1e-5, "embedding": 1e-5,
             "frame": 2.0}
"""crop/frame in grey levels (we round a float crop to uint8 before pasting it, FaceFusion truncates after
blending: up to 2 levels apart); `pixels` are float crops in 0..255 (float32 here, float64 there); the
rest in the values' own units."""


def random_landmarks(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A plausible face: the ArcFace points scaled, rotated and moved at random, with a little noise."""
    from plasticvision.geometry.warp import template_points

    h, w = shape[:2]
    points = template_points("arcface_112_v2", 1) - 0.5
    size, angle = rng.uniform(0.15, 0.6) * min(h, w), rng.uniform(-0.5, 0.5)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    centre = rng.uniform(0.3, 0.7, 2) * (w, h)
    return (points @ rotation.T * size + centre + rng.normal(0, 1.5, (5, 2))).astype(np.float32)


class Report:
    def __init__(self) -> None:
        self.worst: dict[str, tuple[float, float]] = {}

    def check(self, name: str, kind: str, ours: np.ndarray, theirs: np.ndarray) -> None:
        ours, theirs = np.asarray(ours, np.float64), np.asarray(theirs, np.float64)
        if ours.shape != theirs.shape:
            raise SystemExit(f"{name}: shape {ours.shape} here, {theirs.shape} in FaceFusion")
        diff = float(np.abs(ours - theirs).max()) if ours.size else 0.0
        self.worst[name] = (max(diff, self.worst.get(name, (0.0, 0.0))[0]), TOLERANCE[kind])

    def print(self) -> bool:
        ok = True
        for name, (diff, tolerance) in sorted(self.worst.items()):
            ok &= diff <= tolerance
            print(f"  {name:<42} max |ours - FaceFusion| = {diff:.3g}  {'ok' if diff <= tolerance else 'OVER ' + str(tolerance)}")
        return ok


def recorder(calls: list, answer: Callable[[np.ndarray], np.ndarray]) -> Callable:
    def forward(tensor: np.ndarray, *args: object) -> np.ndarray:
        calls.append(tensor)
        return answer(tensor)
    return forward


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--facefusion", required=True, type=Path, help="a FaceFusion 3.8.1 checkout")
    parser.add_argument("--poses", type=int, default=10, help="random face poses per photo")
    args = parser.parse_args()
    sys.path.insert(0, str(args.facefusion))
    from facefusion import face_helper, face_masker, state_manager
    from facefusion.processors.modules.face_enhancer import core as enhancer_core
    from facefusion.processors.modules.face_swapper import core as swapper_core

    from plasticvision.geometry.align import paste_back, paste_mask, paste_region
    from plasticvision.engines.inswapper import crop_io
    from plasticvision.engines.inswapper import face_masks as ours
    from plasticvision.geometry.warp import warp_face
    from plasticvision.models import catalog
    from plasticvision.types import MASK_REGIONS

    for key, value in {"download_providers": [], "face_occluder_model": "xseg_1",
                       "face_parser_model": "bisenet_resnet_34", "face_swapper_weight": 0.5}.items():
        state_manager.init_item(key, value)
    rng = np.random.default_rng(21)
    emap = rng.standard_normal((512, 512)).astype(np.float32)
    converter = rng.standard_normal((512, 512)).astype(np.float32)
    swapper_core.get_static_model_initializer = lambda path: emap
    swapper_core.forward_convert_embedding = lambda embedding: embedding @ converter
    occluder_inputs: list = []
    parser_inputs: list = []
    report = Report()
    for photo in PHOTOS:
        frame = cv2.imread(str(ROOT / "tests" / "data" / photo))
        for _ in range(args.poses):
            landmarks = random_landmarks(rng, frame.shape)
            for spec in catalog.of_role("swapper"):
                state_manager.init_item("face_swapper_model", spec.name)
                size = int(spec.crop_size or 0)
                their_crop, their_matrix = face_helper.warp_face_by_face_landmark_5(
                    frame, landmarks, spec.template, (size, size))
                crop, matrix = warp_face(frame, landmarks, spec.template or "", size)
                report.check(f"{spec.template} {size} crop", "crop", crop, their_crop)
                report.check(f"{spec.template} {size} matrix", "matrix", matrix, their_matrix)
                report.check(f"{spec.name} prepare_crop_frame", "tensor",
                             crop_io.prepare_crop_frame(crop, spec), swapper_core.prepare_crop_frame(their_crop))
                output = rng.uniform(-1.2, 1.2, (3, size, size)).astype(np.float32)
                swapped = crop_io.normalize_crop_frame(output, spec)
                their_swapped = swapper_core.normalize_crop_frame(output)
                report.check(f"{spec.name} normalize_crop_frame", "pixels", swapped, their_swapped)
                raw = rng.standard_normal(512).astype(np.float32) * 20
                face = type("Face", (), {"embedding": raw, "embedding_norm": raw / np.linalg.norm(raw)})()
                report.check(f"{spec.name} prepare_source_embedding", "embedding",
                             crop_io.prepare_source_embedding([raw], spec, emap=emap,
                                                              convert=lambda e: e @ converter),
                             swapper_core.balance_source_embedding(swapper_core.prepare_source_embedding(face), raw))
                # masks: box and occlusion on the target crop, region on the swapped crop
                report.check(f"box mask {size}", "mask", ours.create_box_mask(size),
                             face_masker.create_box_mask(their_crop, 0.3, (0, 0, 0, 0)))
                xseg_out = rng.uniform(-0.2, 1.2, (256, 256, 1)).astype(np.float32)
                xseg_out[rng.uniform(size=(256, 256)) < 0.5] = 1.0
                face_masker.forward_occlude_face = recorder(occluder_inputs, lambda t: xseg_out)
                their_occlusion = face_masker.create_occlusion_mask(their_crop)
                report.check("occluder input", "tensor", ours.occluder_input(crop, 256), occluder_inputs[-1])
                report.check(f"occlusion mask {size}", "mask", ours.occlusion_mask([xseg_out], size), their_occlusion)
                logits = rng.standard_normal((19, 512, 512)).astype(np.float32)
                regions = [r for r in MASK_REGIONS if rng.uniform() < 0.6] or ["skin"]
                face_masker.forward_parse_face = recorder(parser_inputs, lambda t: logits)
                their_region = face_masker.create_region_mask(their_swapped, regions)
                report.check("parser input", "tensor", ours.parser_input(swapped, 512), parser_inputs[-1])
                report.check(f"region mask {size}", "mask", ours.region_mask(logits, regions, size), their_region)
                # paste-back of the swapped crop through the combined mask
                combined = ours.combine_masks([ours.create_box_mask(size), their_occlusion, their_region])
                their_frame = face_helper.paste_back(frame, their_swapped, combined, their_matrix)
                region = paste_region(matrix, size, frame.shape)
                pasted = paste_back(cv2.convertScaleAbs(swapped), matrix, region, frame[region.slices])
                weight = paste_mask(combined, matrix, region)
                ours_frame = frame.copy()
                ours_frame[region.slices] = cv2.blendLinear(pasted, frame[region.slices], weight, 1 - weight)
                report.check("paste_back frame", "frame", ours_frame, their_frame)
            for spec in catalog.of_role("enhancer"):
                state_manager.init_item("face_enhancer_model", spec.name)
                their_crop, _ = face_helper.warp_face_by_face_landmark_5(frame, landmarks, "ffhq_512", (512, 512))
                crop, _ = warp_face(frame, landmarks, "ffhq_512", 512)
                report.check(f"{spec.name} prepare_crop_frame", "tensor", crop_io.prepare_crop_frame(crop, spec),
                             enhancer_core.prepare_crop_frame(their_crop))
                output = rng.uniform(-1.2, 1.2, (3, 512, 512)).astype(np.float32)
                report.check(f"{spec.name} normalize_crop_frame", "crop", crop_io.normalize_enhanced_frame(output),
                             enhancer_core.normalize_crop_frame(output))
    ok = report.print()
    print("all within tolerance" if ok else "DIFFERENCES over tolerance")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
