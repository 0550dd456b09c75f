"""`arniqa-edge <command> ...`: one entry point for every tool of the project.

    arniqa-edge score shots/ --recursive --sort score   # = python -m arniqa_edge
    arniqa-edge video clip.mp4 --report                 # = python -m arniqa_edge.video
    arniqa-edge export onnx --weights enc.safetensors -o enc.onnx   # = python -m export.onnx
    arniqa-edge photo.jpg                                # no command: score, as before commands existed

Each tool keeps its own parser and its `python -m` form: this module only picks
the tool from the first words, imports it, and hands it the rest of the command
line unchanged. While the tool runs, its usage line and errors name it by the
words it was invoked with (`arniqa-edge export onnx`) instead of its `python -m` name.

export, bench and train run the packages of a checkout (export/, benchmarks/,
training/), which the wheel does not hold: when they cannot be imported, the
command says so in one line and exits 2.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

from . import __version__

HELP_OPTIONS = ("-h", "--help")


@dataclass(frozen=True)
class Tool:
    """A command that runs `module`'s main(argv); `prog` is the name its own parser gives itself."""

    summary: str
    module: str
    prog: str
    #: what a checkout tool needs beside this package, for the message when it cannot be imported
    needs: str | None = None


@dataclass(frozen=True)
class Group:
    """A command whose next word picks one of its tools (or groups)."""

    summary: str
    commands: dict[str, Tool | Group] = field(default_factory=dict)


def _checkout_tools(needs: str, tools: dict[str, tuple[str, str]]) -> dict[str, Tool]:
    """Tools of a checkout package: name -> (module with the main, summary); each also runs as `python -m`."""
    return {
        name: Tool(summary, module, f"python -m {module.removesuffix('.__main__')}", needs)
        for name, (module, summary) in tools.items()
    }


EXPORT_NEEDS = "the export/ folder of an arniqa-edge checkout and the [export] extra (pip install -e '.[cpu,export]')"
TRAIN_NEEDS = "the training/ folder of an arniqa-edge checkout and the [train] extra (pip install -e '.[cpu,train]')"
BENCH_NEEDS = "the benchmarks/ folder of an arniqa-edge checkout (pip install -e '.[dev]' for every suite)"

COMMANDS = Group(
    "No-reference image quality assessment (ARNIQA) for cameras and video.",
    {
        "score": Tool(
            "score images, folders, glob patterns or lists of paths (the default command)",
            "arniqa_edge.cli",
            "python -m arniqa_edge",
        ),
        "video": Tool(
            "score a video file or stream frame by frame", "arniqa_edge.video.cli", "python -m arniqa_edge.video"
        ),
        "camera": Tool(
            "watch a camera or stream and raise picture-quality alerts",
            "arniqa_edge.camera.cli",
            "python -m arniqa_edge.camera",
        ),
        "export": Group(
            "deployable models (checkout)",
            _checkout_tools(
                EXPORT_NEEDS,
                {
                    "onnx": ("export.onnx", "export an encoder (and its regressor) to ONNX, checked against torch"),
                    "quantize": ("export.quantize", "lower an FP32 ONNX export to FP16, or to INT8 with Q/DQ nodes"),
                    "trt": ("export.trt", "build a TensorRT or TensorRT-RTX engine from an ONNX file"),
                    "triton": ("export.triton", "write a Triton Inference Server model repository"),
                    "accuracy": ("export.accuracy", "how far FP16 and INT8 exports move the scores"),
                    "cvrkd": ("export.cvrkd", "export a CVRKD student as the runtime's two ONNX graphs"),
                },
            ),
        ),
        "bench": Tool(
            "time a benchmark suite and store its results (checkout)",
            "benchmarks.__main__",
            "python -m benchmarks",
            BENCH_NEEDS,
        ),
        "train": Group(
            "training (checkout)",
            {
                **_checkout_tools(
                    TRAIN_NEEDS,
                    {
                        "pretrain": ("training.pretraining.pretrain", "ARNIQA pretraining of an encoder (resumable)"),
                        "recipe": ("training.recipe", "the whole CPU recipe: ImageNet init to the shipped files"),
                        "evaluate": (
                            "training.evaluation.evaluate",
                            "frozen encoders + ridge regressors on the KADID proxy or a labelled dataset",
                        ),
                        "fit-regressor": (
                            "training.evaluation.fit_regressor",
                            "fit a quality regressor on your own labelled images",
                        ),
                        "kadid-proxy": (
                            "training.evaluation.kadid_proxy",
                            "build a KADID proxy: distorted images labelled with KADID's mean opinion scores",
                        ),
                        "init-weights": (
                            "training.pretraining.init_weights",
                            "write a model's initial (ImageNet) encoder weights",
                        ),
                        "carry": (
                            "training.pretraining.carry",
                            "pack the training photos small enough to carry to a GPU machine",
                        ),
                        "degradation": (
                            "training.degradation.__main__",
                            "draw the degradation model's distortions on an image",
                        ),
                    },
                ),
                "cvrkd": Group(
                    "reference-based scoring (CVRKD)",
                    _checkout_tools(
                        TRAIN_NEEDS,
                        {
                            "cache": ("training.cvrkd.cache", "cache the frozen backbone's work once (CPU training)"),
                            "train": ("training.cvrkd.train", "train the FR teacher or the NAR student"),
                            "evaluate": (
                                "training.cvrkd.evaluate",
                                "CVRKD networks on the KADID proxy, beside the NR scorer",
                            ),
                            "export": (
                                "export.cvrkd",
                                "export a student as the runtime's two ONNX graphs (= export cvrkd)",
                            ),
                        },
                    ),
                ),
            },
        ),
    },
)

#: The command run when the first argument names none (`arniqa-edge photo.jpg`).
DEFAULT_COMMAND = "score"


def main(argv: Sequence[str] | None = None, name: str = "arniqa-edge") -> int:
    """Run the command that `argv` names; its exit status."""
    rest = list(sys.argv[1:] if argv is None else argv)
    words = [name]
    node: Tool | Group = COMMANDS
    while isinstance(node, Group):
        if not rest or rest[0] in HELP_OPTIONS:
            # asked for: help on stdout; nothing given: the same on stderr, as a usage error
            (sys.stdout if rest else sys.stderr).write(format_group_help(node, words))
            return 0 if rest else 2
        if rest[0] in node.commands:
            words.append(rest[0])
            node, rest = node.commands[rest[0]], rest[1:]
        elif node is COMMANDS:
            if rest[0] == "--version":
                print(f"arniqa-edge {__version__}")
                return 0
            words.append(DEFAULT_COMMAND)  # backward compatible: image paths (and options) come first
            node = COMMANDS.commands[DEFAULT_COMMAND]
        else:
            print(
                f"{' '.join(words)}: error: unknown command {rest[0]!r}; choose from "
                f"{', '.join(node.commands)} (see {' '.join(words)} --help)",
                file=sys.stderr,
            )
            return 2
    return run_tool(node, " ".join(words), rest)


def run_tool(tool: Tool, invoked_as: str, argv: list[str]) -> int:
    """Import the tool and run its main(argv), its usage saying `invoked_as`."""
    try:
        module = importlib.import_module(tool.module)
    except KeyboardInterrupt:  # Ctrl-C while torch & co. load: no traceback
        print("error: interrupted while starting", file=sys.stderr)
        return 130
    except ImportError as exc:
        if tool.needs is None:  # a tool of this package itself: a broken install, show it all
            raise
        print(f"error: {invoked_as} needs {tool.needs}; cannot import {tool.module} here ({exc})", file=sys.stderr)
        return 2
    with usage_name(tool.prog, invoked_as):
        status = module.main(argv)
    return 0 if status is None else status


@contextmanager
def usage_name(own: str, invoked_as: str) -> Iterator[None]:
    """While it lasts, parsers created with prog `own` (and their subcommands) call themselves `invoked_as`.

    The tools name their parsers after their `python -m` form, which stays right
    when they are run that way; only the dispatcher knows the words it was given.
    """
    original = argparse.ArgumentParser.__init__

    @functools.wraps(original)
    def renaming_init(parser, *args, **kwargs):
        original(parser, *args, **kwargs)
        if parser.prog == own or parser.prog.startswith(own + " "):
            parser.prog = invoked_as + parser.prog[len(own) :]

    argparse.ArgumentParser.__init__ = renaming_init
    try:
        yield
    finally:
        argparse.ArgumentParser.__init__ = original


def format_group_help(group: Group, words: list[str]) -> str:
    invoked = " ".join(words)
    lines = [f"usage: {invoked} <command> [options ...]"]
    if group is COMMANDS:
        lines.append(f"       {invoked} IMAGE|FOLDER|PATTERN|- ... [options]   (no command: {DEFAULT_COMMAND})")
    lines += ["", group.summary[0].upper() + group.summary[1:], "", "commands:"]
    width = max(len(name) for name in group.commands)
    for name, command in group.commands.items():
        choices = f": {', '.join(command.commands)}" if isinstance(command, Group) else ""
        lines.append(f"  {name:<{width}}  {command.summary}{choices}")
    lines += ["", f"Run `{invoked} <command> --help` for a command's options."]
    if group is COMMANDS:
        lines += [
            "Each command also runs as `python -m <module>`: python -m arniqa_edge (score), "
            "python -m arniqa_edge.video,",
            "python -m export.onnx, python -m training.evaluation.evaluate, python -m benchmarks, ...",
            "",
            "options:",
            "  -h, --help  show this help and exit",
            "  --version   show the version and exit",
        ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
