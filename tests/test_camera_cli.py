"""The camera's command line in the shared vocabulary: a positional SOURCE (--source still works, deprecated),
--fps (--rate deprecated), -o/--output for the events (--events deprecated), -q/--log-level (-v a hidden
shorthand), the batching options handed to the Scorer, and numbers checked by argparse. A stand-in backend,
no model: seconds."""

import json
import logging
from pathlib import Path

import pytest
from cli_fixtures import content_regressor, use_content_backend
from video_helpers import sharp_blurred_sharp, write_video

from arniqa_edge.camera import cli as camera_cli
from arniqa_edge.camera.cli import build_parser, main
from arniqa_edge.errors import ArniqaEdgeError


def deprecated(old: str, new: str) -> str:
    return f"warning: {old} is deprecated; use {new}\n"


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    return write_video(tmp_path_factory.mktemp("camera") / "cam.avi", sharp_blurred_sharp((3, 3, 3)))


@pytest.fixture
def model(tmp_path, monkeypatch):
    use_content_backend(monkeypatch)
    return ["--weights", "enc.onnx", "--regressor", str(content_regressor(tmp_path / "r.safetensors"))]


@pytest.fixture(autouse=True)
def logging_restored():
    """main() sets the root logger's level (configure_logging): put it back."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


def events_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


# -- the source: positional, or the deprecated --source; exactly one ------------------------------------------------


def test_source_is_positional_and_source_option_still_works(capsys):
    parser = build_parser()
    assert parser.parse_args(["rtsp://cam/1"]).source == "rtsp://cam/1"
    assert parser.parse_args(["--low", "0.3", "0"]).source == "0"  # options first, too
    assert capsys.readouterr().err == ""
    assert parser.parse_args(["--source", "rtsp://cam/1"]).source == "rtsp://cam/1"
    assert capsys.readouterr().err == deprecated("--source", "the positional SOURCE")
    usage = parser.format_usage()
    assert "SOURCE" in usage and "--source" not in usage and "--source" not in parser.format_help()


@pytest.mark.parametrize("argv", [["0", "--source", "1"], ["--source", "1", "0"]])
def test_source_given_twice_is_an_error(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "not allowed with argument" in err and "Traceback" not in err


def test_no_source_is_an_error_that_says_what_to_give(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--fps", "1"])
    assert exit_.value.code == 2
    assert "error: a SOURCE to watch is required: a camera index (0), an rtsp://" in capsys.readouterr().err


# -- --fps and -o/--output, and their former spellings -----------------------------------------------------------------


def test_fps_and_the_deprecated_rate(capsys):
    parser = build_parser()
    assert parser.parse_args(["0"]).fps == 2.0
    assert parser.parse_args(["0", "--fps", "4"]).fps == 4.0
    assert capsys.readouterr().err == ""
    assert parser.parse_args(["0", "--rate", "4"]).fps == 4.0
    assert capsys.readouterr().err == deprecated("--rate", "--fps")
    with pytest.raises(SystemExit) as exit_:
        parser.parse_args(["0", "--fps", "1", "--rate", "2"])
    assert exit_.value.code == 2 and "not allowed with argument --fps" in capsys.readouterr().err
    assert "--rate" not in parser.format_help()


def test_output_and_the_deprecated_events(capsys):
    parser = build_parser()
    assert parser.parse_args(["0"]).events == Path("arniqa-camera-events.jsonl")
    assert parser.parse_args(["0", "-o", "cam.jsonl"]).events == Path("cam.jsonl")
    assert parser.parse_args(["0", "--output", "cam.jsonl"]).events == Path("cam.jsonl")
    assert capsys.readouterr().err == ""
    assert parser.parse_args(["0", "--events", "cam.jsonl"]).events == Path("cam.jsonl")
    assert capsys.readouterr().err == deprecated("--events", "-o/--output")
    help_text = parser.format_help()
    assert "-o FILE, --output FILE" in help_text and "--events" not in help_text


def test_old_and_new_spellings_watch_the_same(video, model, tmp_path, capsys):
    common = ["--max-frames", "2", "--no-metrics", "--low", "0.99", "--raise-after", "0", *model]
    assert main([str(video), "--fps", "20", "-o", str(tmp_path / "new.jsonl"), *common]) == 0
    new_out, new_err = capsys.readouterr()
    assert "deprecated" not in new_err and "stopped: 2 frames scored" in new_out
    old = ["--source", str(video), "--rate", "20", "--events", str(tmp_path / "old.jsonl"), *common]
    assert main(old) == 0
    old_out, old_err = capsys.readouterr()
    assert "stopped: 2 frames scored" in old_out
    for spelling, replacement in (
        ("--source", "the positional SOURCE"),
        ("--rate", "--fps"),
        ("--events", "-o/--output"),
    ):
        assert deprecated(spelling, replacement) in old_err
    [new], [old] = events_of(tmp_path / "new.jsonl"), events_of(tmp_path / "old.jsonl")
    assert (new["alert"], new["state"]) == (old["alert"], old["state"]) == ("low_quality", "raised")


# -- messages -----------------------------------------------------------------------------------------------------


def test_quiet_silences_the_info_logs_that_log_level_and_v_show(video, model, tmp_path, caplog):
    def info_logs(*options):
        caplog.clear()
        argv = [str(video), "--max-frames", "1", "--fps", "20", "--metrics-port", "0", *model, *options]
        assert main([*argv, "-o", str(tmp_path / "events.jsonl")]) == 0
        return [r.getMessage() for r in caplog.records if r.levelno == logging.INFO and r.name.startswith("arniqa")]

    assert any(message.startswith("metrics on http://") for message in info_logs("--log-level", "info"))
    assert any(message.startswith("metrics on http://") for message in info_logs("-v"))  # the former spelling
    assert info_logs("-q") == []
    assert info_logs() == []  # the default: warnings and errors only


def test_verbosity_options(capsys):
    parser = build_parser()
    assert parser.parse_args(["0"]).log_level == "warning"
    assert parser.parse_args(["0", "-v"]).log_level == "info"
    assert parser.parse_args(["0", "--quiet"]).quiet is True
    with pytest.raises(SystemExit):
        parser.parse_args(["0", "-q", "--log-level", "debug"])
    help_text = parser.format_help()
    assert "-q, --quiet" in help_text and "--verbose" not in help_text


# -- batching -------------------------------------------------------------------------------------------------------


def test_batching_options_reach_the_scorer(tmp_path, monkeypatch, capsys):
    options = {}

    def recording_scorer(**kwargs):
        options.update(kwargs)
        raise ArniqaEdgeError("stop here")

    monkeypatch.setattr(camera_cli, "Scorer", recording_scorer)
    argv = ["0", "--no-metrics", "-o", str(tmp_path / "events.jsonl")]
    assert main([*argv, "--max-batch-pixels", "500k", "--memory-budget", "1.5G"]) == 2
    assert options["max_batch_pixels"] == 500_000 and options["memory_budget"] == int(1.5 * 1024**3)
    assert options["batch_size"] == 1
    assert "error: stop here" in capsys.readouterr().err


# -- numbers ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "option, value",
    [
        ("--fps", "inf"),
        ("--fps", "0"),
        ("--fps", "-2"),
        ("--rate", "nan"),
        ("--rate", "-1"),
        ("--max-frame-age", "inf"),
        ("--max-frame-age", "0"),
        ("--max-frames", "0"),
        ("--max-frames", "-5"),
        ("--duration", "inf"),
        ("--duration", "-1"),
        ("--ema-alpha", "0"),
        ("--ema-alpha", "1.5"),
        ("--ema-alpha", "nan"),
        ("--window", "0"),
        ("--low", "1.5"),
        ("--low", "-0.1"),
        ("--low", "nan"),
        ("--high", "inf"),
        ("--raise-after", "-1"),
        ("--clear-after", "inf"),
        ("--frozen-after", "nan"),
        ("--blank-after", "-5"),
        ("--reference-low", "2"),
        ("--reference-high", "-inf"),
        ("--notify-timeout", "0"),
        ("--notify-timeout", "inf"),
        ("--metrics-port", "70000"),
        ("--metrics-port", "-1"),
        ("--reconnect-delay", "inf"),
        ("--reconnect-delay", "-0.5"),
        ("--reconnect-max-delay", "0"),
        ("--restored-after", "nan"),
        ("--lost-after", "inf"),
        ("--give-up-after", "-3"),
    ],
)
def test_out_of_range_numbers_are_argparse_errors(option, value, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["0", f"{option}={value}"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert f"error: argument {option}:" in err and "Traceback" not in err


def test_numbers_in_range_are_taken(capsys):
    args = build_parser().parse_args(
        ["0", "--fps", "0.5", "--duration", "60", "--low", "0", "--high", "1", "--ema-alpha", "1", "--window", "1"]
        + ["--frozen-after", "0", "--blank-after", "0", "--raise-after", "0", "--metrics-port", "0"]
    )
    assert (args.fps, args.duration, args.low, args.high, args.ema_alpha, args.window) == (0.5, 60.0, 0.0, 1.0, 1.0, 1)
    assert (args.frozen_after, args.blank_after, args.raise_after, args.metrics_port) == (0.0, 0.0, 0.0, 0)


def test_every_option_has_help_and_shows_its_default(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # no line breaks inside the names
    help_text = " ".join(build_parser().format_help().split())
    for shown in (
        "--fps FPS frames scored per second (default: 2.0)",
        "-o FILE, --output FILE append the events here as JSON lines (default: arniqa-camera-events.jsonl)",
        "--smoothing {ema,median,none} how the scores are smoothed",
        "(default: ema)",
        "--reconnect-max-delay SECONDS longest delay between two attempts to reopen the source (default: 30.0)",
        "--metrics-host HOST address the metrics endpoint listens on (default: 127.0.0.1, this machine only)",
        "--memory-budget SIZE",
        "--log-level {debug,info,warning,error} least severe messages shown on stderr (default: warning)",
    ):
        assert shown in help_text
