"""The video scorer's command line in the shared vocabulary: -o/--output (--out-dir still works, hidden and
deprecated), -q/--log-level (-v a hidden shorthand), a progress bar only on a terminal and never under -q or
--no-progress, the batching options handed to the Scorer. A stand-in backend, no model: seconds."""

import io
import logging
import sys
from pathlib import Path

import pytest
from cli_fixtures import content_regressor, use_content_backend
from video_helpers import sharp_blurred_sharp, write_video

from arniqa_edge import cli_conventions
from arniqa_edge.errors import ArniqaEdgeError
from arniqa_edge.video import cli as video_cli
from arniqa_edge.video.cli import build_parser, main

DEPRECATED_OUT_DIR = "warning: --out-dir is deprecated; use -o/--output\n"


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """6 frames at 10 fps (MJPG .avi)."""
    return write_video(tmp_path_factory.mktemp("video") / "clip.avi", sharp_blurred_sharp((2, 2, 2)))


@pytest.fixture
def model(tmp_path, monkeypatch):
    use_content_backend(monkeypatch)
    return ["--weights", "enc.onnx", "--regressor", str(content_regressor(tmp_path / "r.safetensors"))]


@pytest.fixture(autouse=True)
def logging_restored(monkeypatch):
    """main() sets the root logger's level and the bars' switch (configure_logging): put them back."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.setattr(cli_conventions, "_progress_off", False)
    yield
    root.setLevel(level)


class Terminal(io.StringIO):
    """A stderr that says it is a terminal: tqdm draws its bar there unless told not to."""

    def isatty(self):
        return True


def test_output_and_the_deprecated_out_dir_write_the_same(clip, model, tmp_path, capsys):
    assert main([str(clip), "-o", str(tmp_path / "new"), *model]) == 0
    assert "deprecated" not in capsys.readouterr().err
    assert main([str(clip), "--out-dir", str(tmp_path / "old"), *model]) == 0
    assert capsys.readouterr().err == DEPRECATED_OUT_DIR
    assert (tmp_path / "old" / "clip.scores.csv").read_text() == (tmp_path / "new" / "clip.scores.csv").read_text()
    assert (tmp_path / "new" / "clip.scores.json").exists() and (tmp_path / "old" / "clip.scores.json").exists()


def test_output_spellings_on_the_parser(capsys):
    parser = build_parser()
    assert parser.parse_args(["clip.avi", "--output", "qa"]).output == Path("qa")
    assert capsys.readouterr().err == ""
    assert parser.parse_args(["clip.avi", "--out-dir", "qa"]).output == Path("qa")
    assert capsys.readouterr().err == DEPRECATED_OUT_DIR
    assert parser.parse_args(["clip.avi"]).output is None  # beside the video, as before
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["clip.avi", "-o", "a", "--out-dir", "b"])
    assert exit_.value.code == 2 and "not allowed with" in capsys.readouterr().err
    help_text = parser.format_help()
    assert "-o DIR, --output DIR" in help_text and "--out-dir" not in help_text


def test_the_progress_bar_shows_only_on_a_terminal_and_never_with_quiet(clip, model, tmp_path, monkeypatch):
    def stderr_of(*options):
        terminal = Terminal()
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main([str(clip), "-o", str(tmp_path), *model, *options]) == 0
        return terminal.getvalue()

    assert "scoring:" in stderr_of()  # the bar, on a terminal
    assert "scoring:" not in stderr_of("-q")
    assert "scoring:" not in stderr_of("--quiet")
    assert "scoring:" not in stderr_of("--no-progress")


def test_the_progress_bar_is_off_when_stderr_is_not_a_terminal(clip, model, tmp_path, capsys):
    assert main([str(clip), "-o", str(tmp_path), *model]) == 0
    assert "scoring:" not in capsys.readouterr().err


def test_quiet_silences_the_info_logs_that_log_level_and_v_show(clip, model, tmp_path, caplog):
    def info_logs(*options):
        caplog.clear()
        assert main([str(clip), "-o", str(tmp_path), *model, *options]) == 0
        return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name.startswith("arniqa")]

    assert any(message.startswith("scoring ") for message in info_logs("--log-level", "info"))
    assert any(message.startswith("scoring ") for message in info_logs("-v"))  # the former spelling, hidden
    assert info_logs("-q") == []
    assert info_logs() == []  # the default: warnings and errors only


def test_verbosity_options(capsys):
    parser = build_parser()
    assert parser.parse_args(["clip.avi"]).log_level == "warning"
    assert parser.parse_args(["clip.avi", "--log-level", "debug"]).log_level == "debug"
    assert parser.parse_args(["clip.avi", "-v"]).log_level == "info"
    assert parser.parse_args(["clip.avi", "-q"]).quiet is True
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["clip.avi", "-q", "--log-level", "info"])
    assert exit_.value.code == 2
    help_text = parser.format_help()
    assert "-q, --quiet" in help_text and "--verbose" not in help_text and "-v," not in help_text


def test_batching_options_reach_the_scorer(clip, monkeypatch, capsys):
    options = {}

    def recording_scorer(**kwargs):
        options.update(kwargs)
        raise ArniqaEdgeError("stop here")

    monkeypatch.setattr(video_cli, "Scorer", recording_scorer)
    assert main([str(clip), "--max-batch-pixels", "2M", "--memory-budget", "512M"]) == 2
    assert options["max_batch_pixels"] == 2_000_000 and options["memory_budget"] == 512 * 1024**2
    assert "error: stop here" in capsys.readouterr().err
    assert main([str(clip)]) == 2
    assert options["max_batch_pixels"] is None  # auto: the scorer picks by device
    with pytest.raises(SystemExit) as exit_:
        main([str(clip), "--memory-budget", "lots"])
    assert exit_.value.code == 2


def test_every_option_has_help_and_shows_its_default():
    help_text = " ".join(build_parser().format_help().split())
    for shown in (
        "--stride N score every Nth frame (default: 1)",
        "--merge-gap SECONDS low stretches at most this far apart are one segment (default: 0.5)",
        "--max-batch-pixels N|auto",
        "--memory-budget SIZE",
        "--log-level {debug,info,warning,error} least severe messages shown on stderr (default: warning)",
    ):
        assert shown in help_text
