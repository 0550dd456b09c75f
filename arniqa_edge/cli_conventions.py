"""What every arniqa-edge command line has in common, whichever tool it is.

- help: descriptions and epilogs written over several lines (examples, tables)
  kept as written, every option's help ending with its default (`HelpFormatter`);
- `-q/--quiet` and `--log-level {debug,info,warning,error}` (`add_verbosity_arguments`,
  then `configure_logging`); --quiet also turns the progress bars off;
- progress bars (tqdm) only when stderr is a terminal: every bar passes
  `disable=progress_disable()`, which is None (tqdm's "off unless a TTY") or True (--quiet);
- `-o/--output` for what a tool writes and `--weights` for the model file it reads,
  with the spellings they replace kept working as hidden, deprecated aliases
  (`add_output_argument`, `add_weights_argument`).

Used by the image scorer and by the tools of a checkout (export/, training/,
benchmarks/), which all depend on this package.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import PurePath

LOG_LEVELS = ("debug", "info", "warning", "error")

# Set by configure_logging: --quiet silences the progress bars of the whole run.
_progress_off = False


class HelpFormatter(argparse.HelpFormatter):
    """Texts written over several lines (examples, tables) kept as written; each option's help ends with its default.

    A description or epilog with line breaks is printed as written, a one-line one
    is wrapped. The default is left out where it says nothing: flags (their default
    is "not given"), options without a default (their help says what happens then),
    and help that already names its default.
    """

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text.strip():
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return super()._fill_text(text, width, indent)

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        default = action.default
        if (
            default is None
            or default is argparse.SUPPRESS
            or isinstance(default, bool)
            or action.nargs == 0
            or "default" in text
        ):
            return text
        return f"{text} (default: {_default_text(default)})"


def _default_text(value) -> str:
    if isinstance(value, (list, tuple)):
        value = " ".join(str(item) for item in value)
    elif isinstance(value, PurePath):
        value = str(value)
    return str(value).replace("%", "%%")  # help strings are %-formatted


def add_verbosity_arguments(parser: argparse.ArgumentParser, default: str = "info") -> None:
    """-q/--quiet and --log-level: how much a tool says on stderr besides its errors."""
    group = parser.add_argument_group("messages").add_mutually_exclusive_group()
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        help="only warnings and errors on stderr, no progress bars (same as --log-level warning, without the bars)",
    )
    group.add_argument("--log-level", choices=LOG_LEVELS, default=default, help="least severe messages shown on stderr")


def configure_logging(args: argparse.Namespace, fmt: str = "%(message)s") -> None:
    """Apply --quiet/--log-level: the root logger's level, and the progress bars."""
    global _progress_off
    quiet = getattr(args, "quiet", False)
    level = "warning" if quiet else getattr(args, "log_level", "info")
    logging.basicConfig(format=fmt)  # a no-op when logging is already set up (as under pytest)
    logging.getLogger().setLevel(level.upper())
    _progress_off = bool(quiet)


def progress_disable() -> bool | None:
    """tqdm's `disable` for every bar: None (shown only when stderr is a terminal), True under --quiet."""
    return True if _progress_off else None


class DeprecatedAlias(argparse.Action):
    """An option's former spelling: still works, hidden from --help, and says on stderr what replaces it."""

    def __init__(self, option_strings, dest, replacement: str, **kwargs):
        self.replacement = replacement
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated; use {self.replacement}", file=sys.stderr)
        setattr(namespace, self.dest, values)


def add_output_argument(
    parser, help: str, *, required: bool = False, aliases: Sequence[str] = (), dest: str = "output", **kwargs
) -> None:
    """-o/--output (where a tool writes), plus its former spellings `aliases` as hidden, deprecated options."""
    target = parser.add_mutually_exclusive_group(required=required) if aliases else parser
    extra = {} if aliases else {"required": required}
    kwargs.setdefault("metavar", "OUTPUT")
    target.add_argument("-o", "--output", dest=dest, help=help, **extra, **kwargs)
    for alias in aliases:
        target.add_argument(
            alias, dest=dest, action=DeprecatedAlias, replacement="-o/--output", help=argparse.SUPPRESS, **kwargs
        )


def add_weights_argument(parser, help: str, *, positional: str | None = None, required: bool = True, **kwargs) -> None:
    """--weights FILE (the model file a tool reads); `positional` keeps a tool's older positional form working."""
    if positional is None:
        parser.add_argument("--weights", metavar="FILE", required=required, help=help, **kwargs)
        return
    group = parser.add_mutually_exclusive_group(required=required)
    group.add_argument("--weights", metavar="FILE", help=help, **kwargs)
    # default=SUPPRESS: an absent positional leaves --weights' value alone (both fill args.weights)
    group.add_argument(
        "weights",
        nargs="?",
        metavar=positional,
        default=argparse.SUPPRESS,
        action=_PositionalForm,
        convert=kwargs.get("type", str),
        help="the same file as --weights (the older form)",
    )


class _PositionalForm(argparse.Action):
    """An option's older positional form. It converts its value itself: given a `type`, argparse would
    also convert the SUPPRESS default of an absent positional into a value that overwrites the option's."""

    def __init__(self, option_strings, dest, convert, **kwargs):
        self.convert = convert
        super().__init__(option_strings, dest, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, self.convert(values))
