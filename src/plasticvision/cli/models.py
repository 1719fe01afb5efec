"""`plasticvision models list | download [NAME...|--recommended|--all] | verify`: the neural models in the models dir."""

from __future__ import annotations

import argparse
import sys

from plasticvision.config import model_store
from plasticvision.models.catalog import CATALOG, RECOMMENDED, REQUIRED, ROLES, ModelSpec, spec_named


def register(commands: argparse._SubParsersAction) -> None:
    models = commands.add_parser("models", help="list, download and verify the neural engine's models")
    models.add_argument("--models-dir", default=None, help="default: PLASTICVISION_MODELS_DIR or a per-user cache dir")
    actions = models.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list", help="each model by role: file, size, checksum kind, licence, and whether it is in place"
    )
    listing.set_defaults(run=run_list)

    fetch = actions.add_parser(
        "download", help="fetch missing or damaged weights (resumes; mirror: PLASTICVISION_MODEL_MIRROR)"
    )
    names = ", ".join(spec.name for spec in CATALOG)
    fetch.add_argument("names", nargs="*", metavar="NAME", help=f"models to fetch, of {names}")
    which = fetch.add_mutually_exclusive_group()
    which.add_argument("--recommended", action="store_true",
                       help=f"a sensible set (the default without names): {', '.join(RECOMMENDED)}")
    which.add_argument("--all", action="store_true", help="every model of the catalog (several GB)")
    fetch.set_defaults(run=run_download)

    verify = actions.add_parser("verify", help="check size and checksum of every model file present")
    verify.set_defaults(run=run_verify)


def chosen(args: argparse.Namespace) -> list[ModelSpec]:
    """The named models; `--all` the catalog; otherwise (or `--recommended`) the recommended set."""
    if args.names and (args.recommended or args.all):
        raise ValueError("name models or use --recommended / --all, not both")
    if args.all:
        return list(CATALOG)
    names = list(args.names or RECOMMENDED)
    specs = [spec_named(name) for name in names]
    converters = [spec_named(spec.converter) for spec in specs if spec.converter and spec.converter not in names]
    return specs + converters


def megabytes(spec: ModelSpec) -> str:
    return f"{spec.size / 1e6:.0f} MB" if spec.size else "size unknown"


def run_list(args: argparse.Namespace) -> int:
    store = model_store(args.models_dir)
    print(f"models dir: {store.root}" + ("" if store.checksums else "  (checksums off)"))
    for role in ROLES:
        print(f"{role}s:")
        for spec in (spec for spec in CATALOG if spec.role == role):
            present = "present" if store.path(spec).is_file() else "missing"
            print(f"  {spec.name:<18} {present:<8} {spec.file:<26} {megabytes(spec):>12}  {spec.title}")
            use = "commercial use allowed" if spec.commercial else "NON-COMMERCIAL"
            print(f"  {'':<18} checksum: {spec.checksum_kind}; {use}; licence: {spec.licence}")
    print("`plasticvision models verify` checks the files; `plasticvision models download --recommended` fetches "
          "a sensible set (SHA-256 where published; FaceFusion's models only have a CRC32 sidecar).")
    return 0


def run_download(args: argparse.Namespace) -> int:
    store = model_store(args.models_dir)
    specs = chosen(args)
    print(f"models dir: {store.root}")
    for spec in specs:
        path = store.ensure(spec)
        print(f"  {spec.name:<18} ok  {path}\n  {'':<18} licence: {spec.licence}")
    return 0


def run_verify(args: argparse.Namespace) -> int:
    store = model_store(args.models_dir)
    unusable = 0
    for spec in CATALOG:
        problem = store.problem(spec)
        print(f"  {spec.name:<18} {'ok' if problem is None else problem}")
        unusable += problem is not None and (spec in REQUIRED or store.path(spec).exists())
    if unusable:
        print(
            f"plasticvision: error: {unusable} model file(s) unusable; `plasticvision models download` fixes them",
            file=sys.stderr,
        )
        return 2
    return 0
