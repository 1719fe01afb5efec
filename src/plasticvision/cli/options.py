"""Flags shared by several sub-commands: the engine and the swap settings."""

from __future__ import annotations

import argparse

from plasticvision.models.catalog import names_of
from plasticvision.settings import Settings
from plasticvision.types import FACE_MASK_TYPES, MASK_REGIONS


def add_engine_flag(parser: argparse.ArgumentParser, default: str = "dlib") -> None:
    parser.add_argument(
        "--engine", choices=("auto", "dlib", "inswapper"), default=default, help=f"model back-end (default: {default})"
    )
    parser.add_argument("--models-dir", default=None, help="where the inswapper weights live")


def device_spec(value: str) -> str:
    """`--devices` checked while the flags are read, so a typo is a one-line usage error."""
    from plasticvision.engines.devices import BadDeviceSpec, parse_devices

    try:
        parse_devices(value)
    except BadDeviceSpec as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return value


def add_devices_flag(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--devices",
        type=device_spec,
        help=f"one engine per device: '0,1' (CUDA ids), 'cpu:2' (two CPU replicas); default {default}",
    )


def unit_float(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0 or value != value:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return value


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    defaults = Settings()
    parser.add_argument(
        "--mouth-mask", action=argparse.BooleanOptionalAction, default=defaults.mouth_mask,
        help="keep the target's own mouth (default: on)",
    )
    parser.add_argument("--sharpness", type=unit_float, default=defaults.sharpness, help="0..1 (default: 0.3)")
    parser.add_argument("--enhance", action="store_true", help="face restoration (neural engine only)")
    parser.add_argument("--swapper", choices=names_of("swapper"), help="face swapper model (default: the best present)")
    parser.add_argument(
        "--enhancer", choices=names_of("enhancer"), help="restoration model for --enhance (default: the best present)"
    )
    parser.add_argument(
        "--mask", action="append", choices=FACE_MASK_TYPES, default=[], dest="face_masks",
        help="add a face mask (repeatable): box, occlusion (keeps hands, hair, glasses in front), region",
    )
    parser.add_argument(
        "--regions", type=comma_list(MASK_REGIONS), default=list(MASK_REGIONS),
        help=f"face parts the region mask keeps, comma-separated (default: all of {','.join(MASK_REGIONS)})",
    )
    parser.add_argument("--opacity", type=unit_float, default=defaults.opacity, help="0..1, 0 = original (default: 1)")
    parser.add_argument("--swap-all", action="store_true", help="swap every face, not only the largest")


def comma_list(choices: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """An argparse type: a comma-separated list of `choices`, a one-line usage error naming them otherwise."""

    def parse(text: str) -> list[str]:
        items = [item.strip() for item in text.split(",") if item.strip()]
        unknown = [item for item in items if item not in choices]
        if unknown or not items:
            raise argparse.ArgumentTypeError(f"unknown region(s) {', '.join(unknown) or '(none)'}; "
                                             f"choose from {', '.join(choices)}")
        return items

    return parse


def settings_from_args(args: argparse.Namespace) -> Settings:
    return Settings(
        mouth_mask=args.mouth_mask,
        sharpness=args.sharpness,
        enhance=args.enhance,
        opacity=args.opacity,
        swap_all=args.swap_all,
        swapper=args.swapper,
        enhancer=args.enhancer,
        face_masks=tuple(args.face_masks),
        mask_regions=tuple(args.regions),
    )
