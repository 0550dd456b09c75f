"""From what follows `arniqa-edge score` to the image files to score, in order.

Each argument is, in turn:
- `-`: a list of paths read from stdin, one a line (`find shots -newer x | arniqa-edge score -`);
- an existing folder: its image files, sorted (with `recursive`, those of every
  subfolder too); other files and hidden ones are skipped. Image files are those
  with a suffix the reader decodes (`imageio.IMAGE_SUFFIXES`);
- an existing file: itself, whatever its name (reading it says whether it is an image);
- a glob pattern (`*`, `?`, `[...]`; `**` for any depth) that names no file, as a
  quoted pattern or a shell that does not expand them leaves it: what it matches, sorted;
- anything else: itself (its row will say "no such file").
The lines of a --from-file list are taken the same way. A folder without images
or a pattern that matches nothing is an `InputProblem`: an error row, not silence.
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO

from .errors import ArniqaEdgeError
from .imageio import IMAGE_SUFFIXES

STDIN = "-"
_GLOB_CHARACTERS = frozenset("*?[")


@dataclass(frozen=True)
class InputProblem:
    """An argument that names no image to score; it gets an error row of its own."""

    path: str
    message: str


class InputListError(ArniqaEdgeError):
    """A --from-file list that cannot be read: nothing is known about what to score."""


def is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES and not os.path.basename(name).startswith(".")


def expand_inputs(
    arguments: Sequence[str], lists: Sequence[str] = (), recursive: bool = False, stdin: IO[str] | None = None
) -> list[str | InputProblem]:
    """The image paths that `arguments` and the --from-file `lists` name, in order (see the module docstring)."""
    stdin = sys.stdin if stdin is None else stdin
    inputs: list[str | InputProblem] = []
    for argument in arguments:
        names = read_list(stdin) if argument == STDIN else [argument]
        for name in names:
            inputs.extend(_expand(name, recursive))
    for path in lists:
        for name in _read_list_file(path, stdin):
            inputs.extend(_expand(name, recursive))
    return inputs


def input_path(item: str | InputProblem) -> str:
    return item.path if isinstance(item, InputProblem) else item


def read_list(stream: IO[str]) -> list[str]:
    """One path a line; blank lines are skipped, the rest of a line is the path as written."""
    return [line.rstrip("\r\n") for line in stream if line.strip()]


def _read_list_file(path: str, stdin: IO[str]) -> list[str]:
    if path == STDIN:
        return read_list(stdin)
    try:
        with open(path, encoding="utf-8") as stream:
            return read_list(stream)
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputListError(f"--from-file {path}: cannot read the list ({reason})") from None


def _expand(name: str, recursive: bool) -> Iterable[str | InputProblem]:
    if os.path.isdir(name):
        return _folder(name, recursive)
    if os.path.exists(name) or not _GLOB_CHARACTERS & set(name):
        return [name]
    matches = sorted(glob.glob(name, recursive=True))
    if not matches:
        return [InputProblem(name, f"{name}: no file matches this pattern")]
    return [item for match in matches for item in (_folder(match, recursive) if os.path.isdir(match) else [match])]


def _folder(folder: str, recursive: bool) -> list[str | InputProblem]:
    files: list[str] = []
    problems: list[InputProblem] = []

    def unreadable(exc: OSError) -> None:
        problems.append(
            InputProblem(
                exc.filename or folder, f"{exc.filename or folder}: cannot read this folder ({exc.strerror or exc})"
            )
        )

    for root, subfolders, names in os.walk(folder, onerror=unreadable):
        files.extend(os.path.join(root, name) for name in names if is_image_name(name))
        # hidden folders (.git, .thumbnails) are skipped like hidden files
        subfolders[:] = [sub for sub in subfolders if not sub.startswith(".")] if recursive else []
    if not files and not problems:
        where = "in this folder or its subfolders" if recursive else "in this folder (--recursive looks in subfolders)"
        problems.append(InputProblem(folder, f"{folder}: no image files {where}"))
    return [*problems, *sorted(files)]
