import cv2
import numpy as np

from training.pretraining.carry import main, pack


def _data(tmp_path):
    rng = np.random.default_rng(0)
    for split, sizes in (("train", [(500, 800), (300, 200)]), ("val", [(600, 600), (400, 500), (450, 460)])):
        folder = tmp_path / "data" / "pristine" / split
        folder.mkdir(parents=True)
        for i, (h, w) in enumerate(sizes):
            cv2.imwrite(str(folder / f"img{i}.png"), rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    (tmp_path / "data" / "labels").mkdir()
    (tmp_path / "data" / "labels" / "KADID-10k.csv").write_text("dis_img_path,dis_type,ref_img_path,score\n")
    return tmp_path / "data"


def test_pack_shrinks_to_the_short_side_and_keeps_small_images(tmp_path):
    size = pack(_data(tmp_path), tmp_path / "carry", val_images=2, short_side=384)
    train = sorted((tmp_path / "carry" / "pristine384" / "train").iterdir())
    assert [p.name for p in train] == ["img0.jpg", "img1.jpg"]
    assert cv2.imread(str(train[0])).shape[:2] == (384, 614)  # 500x800 -> short side 384
    assert cv2.imread(str(train[1])).shape[:2] == (300, 200)  # already small: kept
    assert len(list((tmp_path / "carry" / "pristine384" / "val").iterdir())) == 2
    assert (tmp_path / "carry" / "KADID-10k.csv").is_file()
    assert size == sum(p.stat().st_size for p in (tmp_path / "carry").rglob("*") if p.is_file())


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    assert main(["--data", str(tmp_path / "nothing"), "-o", str(tmp_path / "carry")]) == 2
    assert "error:" in capsys.readouterr().err
