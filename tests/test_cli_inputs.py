"""What the image CLI scores: folders (flat, --recursive), glob patterns the shell left alone, lists on stdin
and in files; files it cannot read get error rows, files that are no images are skipped."""

import io
import json

import pytest
from cli_fixtures import content_regressor, grey_image, use_content_backend

from arniqa_edge.cli import main
from arniqa_edge.cli_inputs import InputProblem, expand_inputs


@pytest.fixture
def photos(tmp_path):
    """photos/ with two images, a broken one, a text file and a hidden image; photos/sub/ and photos/.cache/."""
    folder = tmp_path / "photos"
    (folder / "sub").mkdir(parents=True)
    (folder / ".cache").mkdir()
    grey_image(folder / "b.png", 120)
    grey_image(folder / "a.jpg", 200)
    (folder / "broken.png").write_bytes(b"not an image at all")
    (folder / "notes.txt").write_text("shot list")
    grey_image(folder / ".hidden.png", 90)
    grey_image(folder / "sub" / "c.png", 60)
    grey_image(folder / ".cache" / "thumb.png", 60)
    return folder


@pytest.fixture
def model_args(tmp_path, monkeypatch):
    use_content_backend(monkeypatch)
    return ["--weights", "enc.onnx", "--regressor", str(content_regressor(tmp_path / "r.safetensors"))]


def _rows(capsys, argv):
    code = main([*argv, "--jsonl"])
    out, err = capsys.readouterr()
    return code, [json.loads(line) for line in out.splitlines()], err


def test_a_folder_is_its_image_files_sorted_and_broken_ones_are_error_rows(photos, model_args, capsys):
    code, rows, err = _rows(capsys, [str(photos), *model_args])
    assert [row["path"] for row in rows] == [str(photos / name) for name in ("a.jpg", "b.png", "broken.png")]
    assert code == 1  # broken.png could not be scored
    assert rows[0]["score"] > rows[1]["score"] and rows[2]["score"] is None
    assert rows[2]["error"].startswith(f"{photos / 'broken.png'}: ")
    assert err.count("error:") == 1 and "notes.txt" not in err


def test_recursive_takes_subfolders_but_not_hidden_ones(photos, model_args, capsys):
    code, rows, _ = _rows(capsys, [str(photos), "--recursive", *model_args])
    assert [row["path"] for row in rows] == [
        str(photos / name) for name in ("a.jpg", "b.png", "broken.png", "sub/c.png")
    ]
    assert code == 1 and rows[3]["error"] is None


def test_a_folder_without_images_is_an_error_row(tmp_path, model_args, capsys):
    empty = tmp_path / "empty"
    (empty / "sub").mkdir(parents=True)
    grey_image(empty / "sub" / "only.png", 100)
    code, rows, err = _rows(capsys, [str(empty), *model_args])
    assert code == 1 and len(rows) == 1
    assert rows[0]["path"] == str(empty) and "no image files in this folder (--recursive" in rows[0]["error"]


def test_glob_patterns_the_shell_did_not_expand(photos, model_args, capsys):
    code, rows, _ = _rows(capsys, [str(photos / "*.png"), str(photos / "**" / "c.png"), *model_args])
    assert [row["path"] for row in rows] == [
        str(photos / "b.png"),
        str(photos / "broken.png"),
        str(photos / "sub" / "c.png"),
    ]
    code, rows, err = _rows(capsys, [str(photos / "*.webp"), str(photos / "a.jpg"), *model_args])
    assert code == 1 and [row["path"] for row in rows] == [str(photos / "*.webp"), str(photos / "a.jpg")]
    assert rows[0]["error"] == f"{photos / '*.webp'}: no file matches this pattern" and rows[1]["error"] is None


def test_a_list_on_stdin(photos, model_args, capsys, monkeypatch):
    listing = f"{photos / 'b.png'}\n\n{photos / 'sub'}\n{photos / 'missing.png'}\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(listing))
    code, rows, _ = _rows(capsys, ["-", *model_args])
    assert [row["path"] for row in rows] == [
        str(photos / "b.png"),
        str(photos / "sub" / "c.png"),
        str(photos / "missing.png"),
    ]
    assert code == 1 and rows[2]["error"].endswith("no such file")


def test_from_file_lists_and_an_unreadable_list(photos, model_args, capsys, tmp_path):
    listing = tmp_path / "list.txt"
    listing.write_text(f"{photos / 'a.jpg'}\r\n{photos / 'sub' / 'c.png'}\r\n")
    code, rows, _ = _rows(capsys, [str(photos / "b.png"), "--from-file", str(listing), *model_args])
    assert code == 0
    assert [row["path"] for row in rows] == [str(photos / n) for n in ("b.png", "a.jpg", "sub/c.png")]
    code = main(["--from-file", str(tmp_path / "nope.txt"), *model_args])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == (
        f"error: --from-file {tmp_path / 'nope.txt'}: cannot read the list (No such file or directory)"
    )


def test_nothing_to_score_is_a_usage_error(model_args, capsys, monkeypatch):
    with pytest.raises(SystemExit) as exit_:
        main(model_args)
    assert exit_.value.code == 2 and "no images given" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.StringIO("\n"))
    assert main(["-", *model_args]) == 2
    assert "the list of paths was empty" in capsys.readouterr().err


def test_expand_inputs_keeps_existing_names_literally(tmp_path):
    odd = tmp_path / "shot[1].png"
    odd.write_bytes(b"")
    assert expand_inputs([str(odd)]) == [str(odd)]  # a file whose name looks like a pattern is that file
    assert expand_inputs([str(tmp_path / "none.png")]) == [str(tmp_path / "none.png")]
    assert expand_inputs([str(tmp_path / "none*.png")]) == [
        InputProblem(str(tmp_path / "none*.png"), f"{tmp_path / 'none*.png'}: no file matches this pattern")
    ]
