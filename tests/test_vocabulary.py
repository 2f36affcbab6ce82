"""One parser per vocabulary: the command line and scene files accept the same values and
refuse the same values with the same words (issue 7)."""

from __future__ import annotations

import pytest

from posestage.cli import main
from posestage.config.scenes import STAGE_SETTINGS, parse_scene
from posestage.config.vocabulary import (
    DEVICE,
    FRAMES,
    MAX_POSES,
    SCORE,
    SECONDS,
    SIZE,
    VocabularyError,
)
from posestage.errors import SceneError
from posestage.tracking.tracker import TrackingSettings


def cli_error(capsys, *argv) -> str:
    """The one error line of ``posestage ARGV`` (exit status 2), without its prefix."""
    assert main(list(argv)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "usage:" not in err, err
    assert err.startswith("posestage: error: ")
    return err.strip().removeprefix("posestage: error: ")


def scene_error(stage: str) -> str:
    with pytest.raises(SceneError) as err:
        parse_scene(f"[stage]\n{stage}\n", "x.toml")
    message = str(err.value)
    assert "\n" not in message
    return message.removeprefix("x.toml: ")


# (command line option, its text; scene key, its TOML value) for the same bad value
SAME_BAD_VALUE = [
    (("run", "--res", "99999x99999"), 'res = "99999x99999"'),
    (("run", "--res", "0x480"), 'res = "0x480"'),
    (("run", "--device", "gpu"), 'device = "gpu"'),
    (("run", "--pace", "slow"), 'pace = "slow"'),
    (("detect", "x.jpg", "--threshold", "5"), "threshold = 5"),
    (("detect", "x.jpg", "--threshold", "-1"), "threshold = -1"),
    (("detect", "x.jpg", "--threshold", "nan"), "threshold = nan"),
    (("detect", "x.jpg", "--max-poses", "0"), "max_poses = 0"),
    (("detect", "x.jpg", "--resize", "crop"), 'resize = "crop"'),
    (("detect", "x.jpg", "--input-size", "big"), 'input_size = "big"'),
    (("detect", "x.jpg", "--num-threads", "0"), "num_threads = 0"),
]


@pytest.mark.parametrize("argv, toml", SAME_BAD_VALUE)
def test_the_cli_and_a_scene_refuse_a_bad_value_with_the_same_words(capsys, argv, toml):
    cli = cli_error(capsys, "--debug", *argv)  # --debug: still one line, it is a usage error
    option = argv[-2]
    key = toml.split(" = ")[0]
    assert cli.startswith(f"{option}: expected ")
    scene = scene_error(toml)
    assert scene.startswith(f"stage.{key}: expected ")
    assert cli.removeprefix(f"{option}: ") == scene.removeprefix(f"stage.{key}: ")


@pytest.mark.parametrize("device", ["auto", "cpu", "edgetpu", "edgetpu:usb:0", "usb:0", "pci:1"])
def test_the_scene_accepts_every_device_the_cli_accepts(device):
    scene = parse_scene(f'[stage]\ndevice = "{device}"\n', "x.toml")
    assert scene.stage.device == DEVICE(device)
    assert DEVICE("usb:0") == "edgetpu:usb:0"  # the shorthand, spelled out


def test_sizes_have_sane_bounds():
    assert SIZE("7680x4320") == (7680, 4320) and SIZE([1, 1]) == (1, 1)
    for bad in ("7681x100", "100x4321", "99999x99999", "-640x480", "640x480x3", "640x", True):
        with pytest.raises(VocabularyError) as err:
            SIZE(bad)
        assert "width 1 to 7680 and height 1 to 4320" in str(err.value)


def test_numbers_refuse_nan_infinity_bools_and_out_of_range():
    assert SCORE("0.25") == 0.25 and SCORE(1) == 1.0 and SCORE(0) == 0.0
    for bad in ("nan", float("nan"), float("inf"), True, -0.01, 1.01, "high"):
        with pytest.raises(VocabularyError, match="expected a score from 0 to 1"):
            SCORE(bad)
    assert MAX_POSES("3") == 3 and FRAMES(1) == 1 and SECONDS("0.5") == 0.5
    for vocab, bad in ((MAX_POSES, "0"), (MAX_POSES, "2.5"), (FRAMES, 0), (SECONDS, "inf")):
        with pytest.raises(VocabularyError):
            vocab(bad)


def test_run_limits_are_checked_on_the_command_line(capsys):
    assert cli_error(capsys, "run", "--frames", "0") == (
        "--frames: expected a whole number of frames >= 1, got 0"
    )
    assert cli_error(capsys, "run", "--duration", "nan") == (
        "--duration: expected a number of seconds > 0, got nan"
    )
    assert cli_error(capsys, "run", "--no-such-option").startswith("unrecognized arguments")


def test_the_stage_options_of_run_are_derived_from_the_stage_keys():
    from posestage.commands.run import STAGE_OPTIONS

    keys = {s.name for s in STAGE_SETTINGS}
    assert set(STAGE_OPTIONS) <= keys  # every run option is a [stage] key, declared once
    from posestage.cli import build_parser

    run = build_parser()._subparsers._group_actions[0].choices["run"]
    flags = {o for a in run._actions for o in a.option_strings}
    assert {f"--{k}" for k in STAGE_OPTIONS} <= flags


def test_tracking_keys_are_declared_once_by_the_tracker():
    from dataclasses import fields

    from posestage.config.scenes import TRACKING_SETTINGS

    assert [s.name for s in TRACKING_SETTINGS] == [f.name for f in fields(TrackingSettings)]
    scene = parse_scene("[tracking]\nmax_missing_seconds = 0.5\nbeta = 2\n", "x.toml")
    settings = scene.tracking_settings()
    assert settings.max_missing_seconds == 0.5 and settings.beta == 2.0
    with pytest.raises(SceneError) as err:
        parse_scene("[tracking]\nmax_missing_seconds = -1\n", "x.toml")
    assert str(err.value) == (
        "x.toml: tracking.max_missing_seconds: expected a number of seconds from 0 to 60, got -1"
    )
    with pytest.raises(SceneError, match="tracking.min_pose_score: expected a score from 0 to 1"):
        TrackingSettings(min_pose_score=1.5)
