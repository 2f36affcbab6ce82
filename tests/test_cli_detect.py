"""``posestage detect``: Coral-style text, JSON, drawn PNGs, options."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from PIL import Image

from posestage.cli import main

pytestmark = pytest.mark.slow

KEYPOINT_LINE = re.compile(r"^  [a-z_]+ +x=-?\d+\.\d  y=-?\d+\.\d  score=\d\.\d\d$")


def test_text_output_like_simple_pose(capsys, images_dir):
    assert main(["detect", str(images_dir / "couple.jpg"), "--device", "cpu"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "Pose Score: 0.89"
    assert lines[1].startswith("  nose              x=817.")
    assert all(KEYPOINT_LINE.match(line) for line in lines[1:18])
    assert lines[18] == "Pose Score: 0.73"
    assert re.fullmatch(r"Inference time: \d+ ms", lines[-1])
    assert len(lines) == 2 * 18 + 1


def test_json_for_several_images(capsys, images_dir):
    images = [str(images_dir / "couple.jpg"), str(images_dir / "squat.bmp")]
    assert (
        main(["detect", *images, "--json", "--model", "posenet-353x481", "--input-size", "481x641"])
        == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["model"] == "posenet-353x481" and doc["input_size"] == [481, 641]
    assert doc["decoder"] in ("c", "numpy")
    assert [d["image"] for d in doc["images"]] == images
    couple, squat = doc["images"]
    assert couple["image_size"] == [1278, 1920] and len(couple["poses"]) == 2
    assert len(squat["poses"]) >= 1
    assert [k["name"] for k in couple["poses"][0]["keypoints"]][:2] == ["nose", "left_eye"]


def test_out_draws_skeletons(tmp_path, images_dir, capsys):
    out = tmp_path / "drawn.png"
    assert main(["detect", str(images_dir / "couple.jpg"), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"Wrote {out}"
    original = Image.open(images_dir / "couple.jpg").convert("RGB")
    drawn = Image.open(out).convert("RGB")
    assert drawn.size == original.size
    changed = (np.asarray(original) != np.asarray(drawn)).any(axis=2)
    assert changed.sum() > 2000  # lines and dots were drawn
    assert changed[330:370, 790:850].any()  # around the first person's nose
    several = tmp_path / "many.png"
    assert (
        main(
            [
                "detect",
                str(images_dir / "couple.jpg"),
                str(images_dir / "squat.bmp"),
                "--out",
                str(several),
            ]
        )
        == 0
    )
    assert sorted(p.name for p in tmp_path.glob("many_*.png")) == [
        "many_couple.png",
        "many_squat.png",
    ]
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"Wrote {tmp_path / 'many_couple.png'}",
        f"Wrote {tmp_path / 'many_squat.png'}",
    ]
    assert main(["detect", str(images_dir / "squat.bmp"), "--json", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["images"][0]["poses"]  # stdout stays one JSON document
    assert captured.err.splitlines() == [f"Wrote {out}"]


def test_threshold_letterbox_and_max_poses(capsys, images_dir):
    assert (
        main(
            [
                "detect",
                str(images_dir / "couple.jpg"),
                "--threshold",
                "0.8",
                "--resize",
                "letterbox",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.count("Pose Score:") == 1
    assert main(["detect", str(images_dir / "couple.jpg"), "--max-poses", "1", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["images"][0]["poses"]) == 1
