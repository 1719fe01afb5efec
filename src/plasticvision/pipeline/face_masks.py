"""The session's model choices handed to the engine, and the occlusion mask for engines that cannot make it themselves.

A neural engine makes the `box`, `occlusion` and `region` masks in its crop space, FaceFusion's
way, and says which it made (`Rendered.masked`); for any mask it did not make, the engine's
`Occluder` (XSeg when its weights are present, else the dlib engine's weight-free one) fills in
`occlusion`, and its `RegionParser` (BiSeNet) `region`, each combined by minimum.
"""

from __future__ import annotations

import cv2

from plasticvision.engines.base import ChoosesModels, CropMasks, Engine, OccludingEngine, ParsingEngine, Rendered, RenderOptions
from plasticvision.errors import UnsupportedOption
from plasticvision.settings import Settings
from plasticvision.types import Frame, Mask


def render_options(settings: Settings, crop_masks: CropMasks | None = None) -> RenderOptions:
    return RenderOptions(settings.swapper, settings.face_masks, settings.mask_regions, crop_masks)


def check_model_choices(engine: Engine, settings: Settings) -> None:
    """A 422 for model choices the engine cannot honour: a model not on this server, or any model on dlib."""
    if isinstance(engine, ChoosesModels):
        engine.check_options(settings.swapper, settings.enhancer if settings.enhance else None, settings.face_masks)
        return
    chosen = [name for name in ("swapper", "enhancer") if getattr(settings, name) is not None]
    if "region" in settings.face_masks and not isinstance(engine, ParsingEngine):
        chosen.append("face_masks region (a face parser: `plasticvision models download bisenet_resnet_34`)")
    if chosen:
        raise UnsupportedOption(
            f"{', '.join(chosen)} needs the neural engine (--engine inswapper); the running engine is '{engine.name}'"
        )


def wants_occlusion(engine: Engine, settings: Settings) -> bool:
    """Whether the occlusion mask applies: chosen in `face_masks`, or by default (no masks chosen) on an
    engine without model choices (dlib), so every new user of the offline default gets it."""
    return "occlusion" in settings.face_masks or (not settings.face_masks and not isinstance(engine, ChoosesModels))


def makes_crop_masks(engine: Engine, settings: Settings) -> bool:
    """Whether this engine makes a chosen mask in crop space, which a stream keeps between frames: the
    neural engine's occlusion and region masks, and a face parser's region mask on any engine."""
    chosen = set(settings.face_masks)
    if isinstance(engine, ChoosesModels):
        return bool(chosen & {"occlusion", "region"})
    return "region" in chosen and isinstance(engine, ParsingEngine)


def finish_masks(
    engine: Engine,
    target: Frame,
    rendered: Rendered,
    settings: Settings,
    with_occlusion: bool = True,
    crop_masks: CropMasks | None = None,
) -> Mask | None:
    """The rendered face mask, with the engine's occlusion and region masks where the render did not make
    them (the occlusion mask only `with_occlusion`: a stream brings its own, see pipeline/occlusion.py;
    the region mask from the stream's `crop_masks` where it keeps one)."""
    masks = [] if rendered.face_mask is None else [rendered.face_mask]
    if (
        with_occlusion
        and "occlusion" in settings.face_masks
        and "occlusion" not in rendered.masked
        and isinstance(engine, OccludingEngine)
    ):
        masks.append(engine.occluder.visible(target, rendered.face))
    if "region" in settings.face_masks and "region" not in rendered.masked and isinstance(engine, ParsingEngine):
        masks.append(engine.parser.regions(rendered.swapped, rendered.face, settings.mask_regions, crop_masks))
    if not masks:
        return None
    face_mask = masks[0]
    for mask in masks[1:]:
        face_mask = cv2.min(face_mask, mask)
    return face_mask
