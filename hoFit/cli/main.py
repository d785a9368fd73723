"""The ``hofit`` command: argument parsing and dispatch to one module per subcommand.

Each subcommand lives in ``hoFit/cli/<name>.py`` with ``add_arguments(parser)``, ``run(args) -> int``
and a module docstring whose first line is its help text. Exit codes: 0 success, 1 failure, 2 bad usage.
User-facing errors (`HoFitError`) print as one line; ``--verbose`` shows the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
import traceback

from hoFit import __version__
from hoFit.errors import HoFitError

__all__ = ["main", "build_parser", "SUBCOMMANDS"]

# subcommand name -> module under hoFit.cli
SUBCOMMANDS: dict[str, str] = {
    "demo": "demo",
    "fit": "fit",
    "detect": "detect",
    "synth": "synth",
    "bench": "bench",
    "ablate": "ablate",
    "models": "models",
    "render": "render",
    "eval": "eval",
    "eval-dataset": "eval_dataset",
    "info": "info",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hofit",
        description="Reconstruct hands and the objects they hold in 3D from RGB video.",
    )
    parser.add_argument("--version", action="version", version=f"hofit {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name in SUBCOMMANDS.items():
        module = importlib.import_module(f"hoFit.cli.{module_name}")
        summary = (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""
        sub = subparsers.add_parser(
            name, help=summary, description=(module.__doc__ or "").strip(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        verbosity = sub.add_mutually_exclusive_group()
        verbosity.add_argument("-q", "--quiet", action="store_true", help="print only errors and final paths")
        verbosity.add_argument("-v", "--verbose", action="store_true", help="debug logging and full tracebacks")
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    try:
        return int(args._run(args) or 0)
    except HoFitError as error:
        if args.verbose:
            traceback.print_exc()
        print(f"hofit {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"hofit {args.command}: interrupted", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
