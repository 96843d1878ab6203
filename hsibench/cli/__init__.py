"""The ``hsibench`` command: each layer contributes its sub-commands through a ``register(subparsers)`` function."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from hsibench import __version__
from hsibench.errors import HsibenchError

# what a process killed by SIGPIPE reports (128 + 13), so `set -o pipefail` scripts see the cut-off output
EXIT_BROKEN_PIPE = 141

# module path → the sub-commands it registers; imported lazily so `hsibench data list` stays fast
COMMAND_MODULES = (
    "hsibench.cli.data_commands",
    "hsibench.cli.protocol_commands",
    "hsibench.cli.method_commands",
    "hsibench.cli.run_commands",
    "hsibench.cli.tune_commands",
    "hsibench.cli.audit_commands",
    "hsibench.cli.report_commands",
    "hsibench.cli.predict_commands",
    "hsibench.cli.html_report_commands",
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
    """Run one command; returns the exit status.

    Only an :class:`~hsibench.errors.HsibenchError` (bad input, explained) is shown as one line,
    ``hsibench: error: …``; any other exception is a bug and keeps its traceback. ``-v`` shows
    the traceback of an input error too. A closed pipe (``hsibench … | head``) ends quietly.
    """
    try:
        try:
            return _run(argv)
        finally:
            sys.stdout.flush()  # a closed pipe shows here (also after --help), where it can still be handled
    except BrokenPipeError:
        # the reader is gone: point stdout at devnull so the interpreter's final flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return EXIT_BROKEN_PIPE


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    from hsibench.data.storage import set_mirror

    try:
        if args.mirror:
            set_mirror(args.mirror)  # an environment variable, so Ray workers and subprocesses inherit it
        return int(args.handler(args) or 0)
    except HsibenchError as error:
        if args.verbose:
            raise
        message = error.args[0] if isinstance(error, KeyError) and error.args else error  # no KeyError quotes
        print(f"hsibench: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
