"""The ``hsibench`` command: each layer contributes its sub-commands through a ``register(subparsers)`` function."""

from __future__ import annotations

import argparse
import logging
import sys

from hsibench import __version__

# module path → the sub-commands it registers; imported lazily so `hsibench data list` stays fast
COMMAND_MODULES = (
    "hsibench.cli.data_commands",
    "hsibench.cli.protocol_commands",
    "hsibench.cli.method_commands",
    "hsibench.cli.run_commands",
    "hsibench.cli.report_commands",
)


def build_parser() -> argparse.ArgumentParser:
    import importlib

    parser = argparse.ArgumentParser(
        prog="hsibench",
        description="Cross-domain few-shot hyperspectral classification benchmark. "
        "Run `hsibench run` with no arguments for the embedded offline default.",
    )
    parser.add_argument("--version", action="version", version=f"hsibench {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--mirror", metavar="DIR", default=None,
                        help="local mirror of scene files, searched before the cache and the network "
                             "(same as HSIBENCH_MIRROR)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from hsibench.data import HsibenchDataError
    from hsibench.data.storage import set_mirror
    from hsibench.protocol import ProtocolError

    try:
        if args.mirror:
            set_mirror(args.mirror)  # an environment variable, so Ray workers and subprocesses inherit it
        return int(args.handler(args) or 0)
    except (HsibenchDataError, ProtocolError, KeyError, ValueError, PermissionError, RuntimeError) as error:
        # expected user errors: one clear line, no traceback (use -v for one)
        if args.verbose:
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        print(f"hsibench: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
