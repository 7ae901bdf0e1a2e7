"""The ``t2v-edu`` command line: one sub-command per module that owns it.

Each module listed in COMMANDS provides ``HELP`` (one line), ``add_arguments(parser)``
and ``cli(args) -> int``. Only the module of the command being run is imported; the
other commands' ``HELP`` lines are read from their source files. So ``t2v-edu --help``
and ``t2v-edu doctor`` work where torch is missing (generation, training and evaluation
import it) and stay fast.
"""
from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import sys
from pathlib import Path

COMMANDS = {
    "generate": "t2v_edu.generation",
    "train": "t2v_edu.training",
    "evaluate": "t2v_edu.evaluation",
    "course": "t2v_edu.course",
    "grade": "t2v_edu.grading",
    "doctor": "t2v_edu.checkup",
}


def help_line(module_name: str) -> str | None:
    """The module's ``HELP``, read from its source without importing it; None when the
    module is not part of this version."""
    spec = importlib.util.find_spec(module_name)
    if spec is None or spec.origin is None:
        return None
    try:
        tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, SyntaxError):  # no source file: import it
        return importlib.import_module(module_name).HELP
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == "HELP"
                                                for target in node.targets):
            return ast.literal_eval(node.value)
    return importlib.import_module(module_name).HELP  # HELP is not a plain string here


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; only ``command``'s module is imported, to add its
    arguments and the function that runs it (``args.func``)."""
    parser = argparse.ArgumentParser(
        prog="t2v-edu", description="t2v-edu: a course on text-to-video generation.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name in COMMANDS.items():
        line = help_line(module_name)
        if line is None:
            continue  # a command whose module is not part of this version
        p = sub.add_parser(name, help=line, description=line)
        if name == command:
            module = importlib.import_module(module_name)
            module.add_arguments(p)
            p.set_defaults(func=module.cli)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((arg for arg in argv if not arg.startswith("-")), None)  # only -h before it
    try:
        parser = build_parser(command)
    except ImportError as exc:  # the command needs a package that is missing (torch)
        print(f"t2v-edu {command}: error: {exc} (t2v-edu doctor checks the installation)",
              file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (ValueError, OSError, ImportError) as exc:  # bad input, a file that cannot be
        # read or written, or an optional package that is missing (imageio-ffmpeg)
        print(f"t2v-edu {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
