"""`python -m keras_genmodels.presets build [NAME ...]` and `... list`."""

from __future__ import annotations

import argparse
import os
import sys

from keras_genmodels.presets import list_presets, recipes


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m keras_genmodels.presets",
        description="Build the pretrained presets from their recipes, or list them.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="train, evaluate and write presets")
    build.add_argument("names", nargs="*", help="presets to build (default: all)")
    build.add_argument("--output-dir", default="saved_models", help="presets folder")
    build.add_argument("--verbose", type=int, choices=(0, 1), default=1)
    build.add_argument(
        "--run",
        help="with one NAME: a finished run of its recipe's exact command, used "
        "instead of training (its arguments are checked)",
    )
    listing = commands.add_parser("list", help="the presets of a folder")
    listing.add_argument("--dir", default=None, help="presets folder")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.command == "list":
        for name, summary in list_presets(args.dir).items():
            print(f"{name}: {summary}")
        return 0
    from keras_genmodels.presets.build import build_preset

    known = recipes()
    unknown = [name for name in args.names if name not in known]
    if unknown:
        parser.error(
            f"unknown preset(s) {', '.join(unknown)}; the recipes: {', '.join(known)}"
        )
    if args.run is not None and len(args.names) != 1:
        parser.error("--run needs exactly one preset NAME")
    for name in args.names or list(known):
        path = build_preset(name, args.output_dir, args.verbose, run_dir=args.run)
        print(f"built {path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
