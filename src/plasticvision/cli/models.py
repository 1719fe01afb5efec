"""`plasticvision models list | download [NAME...] | verify`: the inswapper weights in the models dir."""

from __future__ import annotations

import argparse
import sys

from plasticvision.config import model_store
from plasticvision.models.catalog import CATALOG, ModelSpec, spec_named


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list, download and verify the inswapper engine's weights")
    models.add_argument("--models-dir", default=None, help="default: PLASTICVISION_MODELS_DIR or a per-user cache dir")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser("list", help="each model: file, size, licence, and whether it is in place")
    listing.set_defaults(run=run_list)

    fetch = actions.add_parser(
        "download", help="fetch missing or damaged weights (resumes; mirror: PLASTICVISION_MODEL_MIRROR)"
    )
    names = ", ".join(spec.name for spec in CATALOG)
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"models to fetch (default: all of {names})")
    fetch.set_defaults(run=run_download)

    verify = actions.add_parser("verify", help="check size and SHA-256 of every weights file present")
    verify.set_defaults(run=run_verify)


def chosen(names: list[str]) -> list[ModelSpec]:
    return [spec_named(name) for name in names] if names else list(CATALOG)


def megabytes(spec: ModelSpec) -> str:
    return f"{spec.size / 1e6:.0f} MB" if spec.size else "size unknown"


def run_list(args: argparse.Namespace) -> int:
    store = model_store(args.models_dir)
    print(f"models dir: {store.root}" + ("" if store.checksums else "  (checksums off)"))
    for spec in CATALOG:
        present = "present" if store.path(spec).is_file() else "missing"
        optional = "" if spec.required else ", optional"
        print(f"  {spec.name:<14} {present:<8} {spec.file:<26} {megabytes(spec):>8}  {spec.role}{optional}")
        print(f"  {'':<14} licence: {spec.licence}")
    print("`plasticvision models verify` checks the files' SHA-256; `plasticvision models download` fetches them.")
    return 0


def run_download(args: argparse.Namespace) -> int:
    store = model_store(args.models_dir)
    specs = chosen(args.names)
    print(f"models dir: {store.root}")
    for spec in specs:
        path = store.ensure(spec)
        print(f"  {spec.name:<14} ok  {path}\n  {'':<14} licence: {spec.licence}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    store = model_store(args.models_dir)
    unusable = 0
    for spec in CATALOG:
        problem = store.problem(spec)
        print(f"  {spec.name:<14} {'ok' if problem is None else problem}")
        unusable += problem is not None and (spec.required or store.path(spec).exists())
    if unusable:
        print(
            f"plasticvision: error: {unusable} model file(s) unusable; `plasticvision models download` fixes them",
            file=sys.stderr,
        )
        return 2
    return 0
