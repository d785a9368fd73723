"""Options shared by several subcommands (config selection, device, output folder)."""

from __future__ import annotations

import argparse

__all__ = ["add_config_arguments", "config_from_args"]


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="default", help="preset in configs/ (default, homan, ...) or a YAML path")
    parser.add_argument("--config", metavar="FILE", help="YAML file merged over the preset")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override any config key, e.g. --set fit.stages.0.iterations=100 (repeatable)",
    )
    parser.add_argument("--device", default=None, help="auto, cpu, cuda or cuda:N (overrides the config's device)")


def config_from_args(args: argparse.Namespace):
    """The `Config` named by --preset, --config, --set and --device."""
    from hoFit.config.schema import load_config

    overrides = list(args.overrides)
    if args.device:
        overrides.append(f"device={args.device}")
    return load_config(args.preset, args.config, overrides)
