"""One vocabulary across the tools: -o/--output, --weights, -q/--quiet, --log-level, help with defaults;
the spellings they replaced still work, hidden and deprecated."""

import argparse
import importlib
import logging
from pathlib import Path

import pytest

from arniqa_edge.cli_conventions import HelpFormatter, configure_logging, progress_disable

#: Modules whose build_parser() follows the conventions (the runtime's tools and the checkout's).
TOOLS = [
    "arniqa_edge.cli",
    "arniqa_edge.video.cli",
    "arniqa_edge.camera.cli",
    "export.onnx",
    "export.quantize",
    "export.trt",
    "export.triton",
    "export.accuracy",
    "training.evaluation.evaluate",
    "training.evaluation.fit_regressor",
    "training.evaluation.kadid_proxy",
    "training.pretraining.carry",
    "training.pretraining.init_weights",
    "training.pretraining.pretrain",
    "training.recipe",
    "training.cvrkd.cache",
    "training.cvrkd.train",
    "training.cvrkd.evaluate",
    "export.cvrkd",
    "benchmarks.__main__",
]


def _tool(name):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    return importlib.import_module(name)


def _leaf_parsers(parser):
    """The parser, or the parsers of its subcommands."""
    subcommands = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not subcommands:
        return [parser]
    return [leaf for action in subcommands for sub in action.choices.values() for leaf in _leaf_parsers(sub)]


@pytest.mark.parametrize("name", TOOLS)
def test_every_option_has_help_and_shows_its_default(name):
    for parser in _leaf_parsers(_tool(name).build_parser()):
        assert isinstance(parser._get_formatter(), HelpFormatter), parser.prog
        options = {option for action in parser._actions for option in action.option_strings}
        assert {"-q", "--quiet", "--log-level"} <= options, parser.prog
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                continue
            label = f"{parser.prog} {'/'.join(action.option_strings) or action.dest}"
            assert action.help and action.help.strip(), f"{label}: no help"
            has_default = (
                action.default not in (None, argparse.SUPPRESS)
                and not isinstance(action.default, bool)
                and action.nargs != 0
            )
            if has_default:
                assert "default" in parser._get_formatter()._get_help_string(action), f"{label}: default not shown"
        parser.format_help()  # formats (no stray % in a help string)


def test_export_onnx_outputs_reads_as_words():
    help_text = " ".join(_tool("export.onnx").build_parser().format_help().split())
    assert "{features,score,score,features}" not in help_text
    assert "--outputs OUTPUTS the graph's outputs: features" in help_text and "(default: features)" in help_text


def _parse(name, argv):
    return _tool(name).build_parser().parse_args(argv)


@pytest.mark.parametrize(
    "name, argv, dest",
    [
        ("training.cvrkd.train", ["teacher", "--data", "d", "{option}", "runs/x"], "out"),
        ("training.cvrkd.cache", ["train", "--data", "d", "--init", "imagenet", "{option}", "runs/x"], "out"),
        ("training.cvrkd.evaluate", ["m.safetensors", "--content", "c", "{option}", "runs/x"], "out"),
        ("export.cvrkd", ["m.safetensors", "{option}", "runs/x"], "out"),
        ("training.evaluation.evaluate", ["proxy", "{option}", "runs/x"], "out"),
        ("training.evaluation.kadid_proxy", ["build", "--content", "c", "{option}", "runs/x"], "out"),
        ("training.pretraining.carry", ["{option}", "runs/x"], "out"),
        ("training.pretraining.pretrain", ["--max-steps", "3", "{option}", "runs/x"], "out"),
        ("training.recipe", ["--ship", "{option}", "runs/x"], "out"),
        ("benchmarks.__main__", ["preprocess", "{option}", "runs/x"], "output"),
    ],
)
def test_out_still_works_as_a_deprecated_alias_of_output(name, argv, dest, capsys):
    new = _parse(name, [arg.replace("{option}", "-o") for arg in argv])
    assert capsys.readouterr().err == ""
    old = _parse(name, [arg.replace("{option}", "--out") for arg in argv])
    assert str(getattr(old, dest)) == str(getattr(new, dest)) == "runs/x"
    assert capsys.readouterr().err == "warning: --out is deprecated; use -o/--output\n"
    parser = _tool(name).build_parser()
    for leaf in _leaf_parsers(parser):
        assert all(action.help == argparse.SUPPRESS for action in leaf._actions if "--out" in action.option_strings)
        assert "--out " not in leaf.format_usage()


def test_triton_repository_is_a_deprecated_alias_of_output(capsys):
    old = _parse("export.triton", ["m.onnx", "--repository", "repo", "--name", "n"])
    new = _parse("export.triton", ["--weights", "m.onnx", "-o", "repo", "--name", "n"])
    assert (old.weights, old.output) == (new.weights, new.output) == (Path("m.onnx"), Path("repo"))
    assert "--repository is deprecated; use -o/--output" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        _parse("export.triton", ["m.onnx", "--name", "n"])  # an output is still required
    assert "one of the arguments -o/--output is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    "name, rest",
    [
        ("export.quantize", ["--precision", "fp16", "-o", "out.onnx"]),
        ("export.trt", ["--precision", "fp16", "-o", "out.engine"]),
        ("export.triton", ["-o", "repo", "--name", "n"]),
        ("export.cvrkd", ["-o", "graphs"]),
    ],
)
def test_model_file_as_weights_or_as_the_older_positional(name, rest, capsys):
    assert _parse(name, ["model.onnx", *rest]).weights == Path("model.onnx")
    assert _parse(name, ["--weights", "model.onnx", *rest]).weights == Path("model.onnx")
    for wrong in (rest, ["a.onnx", "--weights", "b.onnx", *rest]):
        with pytest.raises(SystemExit) as exit_:
            _parse(name, wrong)
        assert exit_.value.code == 2
    assert "--weights" in capsys.readouterr().err


def test_fit_regressor_backend_is_one_of_the_backends(capsys):
    base = ["--weights", "w", "--images", "i", "--scores", "s.csv", "-o", "r.safetensors"]
    assert _parse("training.evaluation.fit_regressor", [*base, "--backend", "onnxruntime"]).backend == "onnxruntime"
    with pytest.raises(SystemExit):
        _parse("training.evaluation.fit_regressor", [*base, "--backend", "cuda"])
    assert "invalid choice: 'cuda'" in capsys.readouterr().err


def test_quiet_and_log_level():
    parser = argparse.ArgumentParser(formatter_class=HelpFormatter)
    from arniqa_edge.cli_conventions import add_verbosity_arguments

    add_verbosity_arguments(parser)
    root = logging.getLogger()
    level = root.level
    try:
        configure_logging(parser.parse_args(["--log-level", "debug"]))
        assert root.level == logging.DEBUG and progress_disable() is None  # bars: only on a terminal
        configure_logging(parser.parse_args(["-q"]))
        assert root.level == logging.WARNING and progress_disable() is True
        configure_logging(parser.parse_args([]))
        assert root.level == logging.INFO and progress_disable() is None
    finally:
        root.setLevel(level)
    with pytest.raises(SystemExit):
        parser.parse_args(["-q", "--log-level", "debug"])


@pytest.mark.parametrize(
    "name, argv, old, new, dest, value",
    [
        ("arniqa_edge.video.cli", ["clip.avi", "{option}", "qa"], "--out-dir", "-o", "output", Path("qa")),
        ("arniqa_edge.camera.cli", ["0", "{option}", "cam.jsonl"], "--events", "-o", "events", Path("cam.jsonl")),
        ("arniqa_edge.camera.cli", ["0", "{option}", "5"], "--rate", "--fps", "fps", 5.0),
        ("arniqa_edge.camera.cli", ["{option}", "0"], "--source", None, "source", "0"),
    ],
)
def test_runtime_tools_former_spellings_still_work_hidden_and_deprecated(name, argv, old, new, dest, value, capsys):
    if new is not None:
        assert getattr(_parse(name, [arg.replace("{option}", new) for arg in argv]), dest) == value
    else:  # the new form is positional
        assert getattr(_parse(name, [arg for arg in argv if arg != "{option}"]), dest) == value
    assert capsys.readouterr().err == ""
    assert getattr(_parse(name, [arg.replace("{option}", old) for arg in argv]), dest) == value
    assert capsys.readouterr().err.startswith(f"warning: {old} is deprecated; use ")
    parser = _tool(name).build_parser()
    assert all(action.help == argparse.SUPPRESS for action in parser._actions if old in action.option_strings)
    assert old not in parser.format_help()
