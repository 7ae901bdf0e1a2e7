"""The ``t2v-edu`` command line: one sub-command per module that owns it.

Each module listed in COMMANDS provides ``HELP`` (one line), ``add_arguments(parser)``
and ``cli(args) -> int``. Modules import their heavy dependencies inside functions, so
building this parser stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

COMMANDS = {
    "generate": "t2v_edu.generation",
    "train": "t2v_edu.training",
    "evaluate": "t2v_edu.evaluation",
    "course": "t2v_edu.course",
    "grade": "t2v_edu.grading",
    "doctor": "t2v_edu.checkup",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="t2v-edu", description="t2v-edu: a course on text-to-video generation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue  # a command whose module is not part of this version
        p = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(p)
        p.set_defaults(func=module.cli)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, ImportError) as exc:  # bad input, a file that cannot be
        # read or written, or an optional package that is missing (imageio-ffmpeg)
        print(f"t2v-edu {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
