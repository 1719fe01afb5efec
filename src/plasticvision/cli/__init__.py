"""The `plasticvision` command: one entry point, a module per group of sub-commands.

Every failure the user can fix ends as one line on stderr and exit code 2 (1 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from plasticvision.errors import PlasticVisionError

COMMAND_MODULES = ("images", "serve", "web", "video", "camera", "models", "bench", "verify")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="plasticvision", description="Real-time face swap: server, web app, images and videos."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"plasticvision.cli.{name}").register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.run(args) or 0)
    except PlasticVisionError as exc:
        print(f"plasticvision: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"plasticvision: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("plasticvision: interrupted", file=sys.stderr)
        return 1
