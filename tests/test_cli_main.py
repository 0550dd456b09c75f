"""`arniqa-edge <command>`: the dispatcher picks the tool, hands it the rest unchanged, and the tool's usage
line names it by the words it was invoked with."""

import argparse
import json
import subprocess
import sys

import pytest
from cli_fixtures import content_regressor, grey_image, use_content_backend
from conftest import ROOT

from arniqa_edge.cli_main import COMMANDS, Group, main

#: Every tool, as the words after `arniqa-edge`; checkout tools need their extra (torch, onnx, ...).
RUNTIME_TOOLS = [["score"], ["video"], ["camera"]]
CHECKOUT_TOOLS = (
    [["export", name] for name in COMMANDS.commands["export"].commands]
    + [["bench"]]
    + [["train", name] for name in COMMANDS.commands["train"].commands if name != "cvrkd"]
    + [["train", "cvrkd", name] for name in COMMANDS.commands["train"].commands["cvrkd"].commands]
)


def _help(capsys, words):
    with pytest.raises(SystemExit) as exit_:
        main([*words, "--help"])
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


@pytest.mark.parametrize("words", RUNTIME_TOOLS, ids=" ".join)
def test_runtime_tools_say_how_they_were_invoked(words, capsys):
    code, out, _ = _help(capsys, words)
    assert code == 0
    assert out.startswith(f"usage: arniqa-edge {' '.join(words)} [-h]")


@pytest.mark.parametrize(
    "words, shown, hidden",
    [
        pytest.param(
            ["video"],
            ["-o DIR, --output DIR", "(default: 1)", "(default: 0.5)", "(default: warning)"],
            ["--out-dir"],
            id="video",
        ),
        pytest.param(
            ["camera"],
            ["-o FILE, --output FILE", "--fps FPS", "(default: 2.0)", "(default: warning)", "[SOURCE]"],
            ["--events", "--rate", "--source"],
            id="camera",
        ),
    ],
)
def test_video_and_camera_help_speak_the_shared_vocabulary(words, shown, hidden, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = _help(capsys, words)
    assert code == 0
    for text in shown + ["-q, --quiet", "--log-level {debug,info,warning,error}", "--memory-budget SIZE"]:
        assert text in out, text
    for text in hidden + ["--verbose"]:
        assert text not in out, text
    assert f"arniqa-edge {words[0]} " in out.split("examples:")[1]  # the examples name the command as invoked


@pytest.mark.parametrize("words", CHECKOUT_TOOLS, ids=" ".join)
def test_checkout_tools_say_how_they_were_invoked(words, capsys):
    pytest.importorskip("torch")
    pytest.importorskip("onnx")
    code, out, err = _help(capsys, words)
    assert code == 0, err
    assert out.startswith(f"usage: arniqa-edge {' '.join(words)} ")
    assert "python -m" not in out.splitlines()[0]
    # the renaming lasts only while the tool runs
    assert (
        argparse.ArgumentParser(prog="python -m training.evaluation.evaluate").prog
        == "python -m training.evaluation.evaluate"
    )


def test_subcommands_of_a_tool_keep_the_invoked_name(capsys):
    pytest.importorskip("torch")
    code, out, _ = _help(capsys, ["train", "evaluate", "proxy"])
    assert code == 0 and out.startswith("usage: arniqa-edge train evaluate proxy [-h]")


def test_help_lists_every_command_on_one_line(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    commands = out.split("commands:\n")[1].split("\n\n")[0].splitlines()
    assert [line.split()[0] for line in commands] == ["score", "video", "camera", "export", "bench", "train"]
    assert "onnx, quantize, trt, triton, accuracy" in out
    assert main([]) == 2
    assert capsys.readouterr().err.startswith("usage: arniqa-edge <command>")
    assert main(["train", "cvrkd", "--help"]) == 0
    assert "export    export a student as the runtime's two ONNX graphs" in capsys.readouterr().out


def test_unknown_tool_of_a_group(capsys):
    assert main(["export", "tflite"]) == 2
    assert capsys.readouterr().err.startswith("arniqa-edge export: error: unknown command 'tflite'; choose from onnx")


def test_image_paths_without_a_command_are_scored(tmp_path, monkeypatch, capsys):
    use_content_backend(monkeypatch)
    image = grey_image(tmp_path / "a.png", 120)
    model = ["--weights", "enc.onnx", "--regressor", str(content_regressor(tmp_path / "r.safetensors"))]
    assert main([image, *model, "--jsonl"]) == 0
    implicit = json.loads(capsys.readouterr().out)
    assert main(["score", image, *model, "--jsonl"]) == 0
    assert json.loads(capsys.readouterr().out) == implicit and implicit["error"] is None
    assert main(["--jsonl", image, *model]) == 0  # options first, as before commands existed
    assert json.loads(capsys.readouterr().out) == implicit


def test_usage_errors_name_the_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["score", "a.png", "--batch-size", "0"])
    assert exit_.value.code == 2
    assert "arniqa-edge score: error: argument --batch-size" in capsys.readouterr().err


def _run_blocked(blocked: str, words: list[str]) -> subprocess.CompletedProcess:
    """The dispatcher in a Python where `blocked` cannot be imported (as in a wheel install)."""
    code = (
        f"import sys; sys.modules[{blocked!r}] = None\n"
        "from arniqa_edge.cli_main import main\n"
        f"sys.exit(main({words!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_a_missing_training_package_is_one_line_and_status_2():
    result = _run_blocked("training", ["train", "evaluate", "--help"])
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert lines[0].startswith(
        "error: arniqa-edge train evaluate needs the training/ folder of an arniqa-edge checkout and the [train] extra"
    )
    assert "cannot import training.evaluation.evaluate" in lines[0]


def test_missing_export_and_benchmarks_packages():
    result = _run_blocked("export", ["export", "onnx", "--weights", "w", "-o", "x.onnx"])
    assert result.returncode == 2 and "needs the export/ folder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    result = _run_blocked("benchmarks", ["bench", "preprocess"])
    assert result.returncode == 2 and "needs the benchmarks/ folder" in result.stderr


def test_groups_list_their_tools_without_importing_them():
    result = _run_blocked("training", ["train", "--help"])
    assert result.returncode == 0 and "fit-regressor" in result.stdout


def test_every_group_command_is_a_tool_or_group():
    def walk(group):
        for command in group.commands.values():
            if isinstance(command, Group):
                yield from walk(command)
            else:
                yield command

    tools = list(walk(COMMANDS))
    assert all(tool.prog.startswith("python -m ") and ".__main__" not in tool.prog for tool in tools)
    assert [tool.needs is None for tool in tools].count(True) == 3  # score, video, camera ship in the wheel
