"""``posestage run --osc HOST:PORT[,layout=NAME]``: OSC out without editing a scene, in every
scene, across switches and reloads. Real UDP on 127.0.0.1, the demo replay."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from posestage import ControlMessage
from posestage.stage import Stage, StageOptions
from posestage.stage.osc_targets import osc_target
from posestage.testing import OscReceiver, run_cli

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "scenes"
DEMO = SCENES / "demo.jsonl"


def until(check, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.02)
    return bool(check())


def addresses(rx: OscReceiver) -> set[str]:
    return {m.address for m in rx.messages}


def test_the_option_reads_an_address_and_target_keys():
    assert osc_target("127.0.0.1:9000") == {"target": "127.0.0.1:9000"}
    assert osc_target("[::1]:9000,layout=person,y_up=true,slots=2") == {
        "target": "[::1]:9000", "layout": "person", "y_up": True, "slots": 2,
    }  # fmt: skip
    for bad in ("", "layout=values", "h:1,layout", "h:1,layout=a,layout=b"):
        with pytest.raises(ValueError):
            osc_target(bad)


def test_targets_from_the_command_line_reach_a_scene_without_osc(capsys):
    with OscReceiver() as one, OscReceiver() as two:
        status = run_cli(
            "run", SCENES / "demo.toml", "--headless", "--pace", "fast", "--frames", "20",
            "--osc", f"127.0.0.1:{one.port},layout=keypoints", "--osc", f"127.0.0.1:{two.port}",
        )  # fmt: skip
        assert status == 0, capsys.readouterr().err
        one.wait(count=40)
        two.wait(count=40)
        assert "/pose/0/nose" in addresses(one) and "/pose/0/nose/x" not in addresses(one)
        assert "/pose/0/nose/x" in addresses(two) and "/pose/frame" in addresses(two)
        (nose,) = {len(m.args) for m in one.messages if m.address == "/pose/0/nose"}
        assert nose == 3


def test_a_scene_with_osc_keeps_its_own_target_and_lends_its_keys(tmp_path, capsys):
    with OscReceiver() as own, OscReceiver() as extra:
        scene = tmp_path / "mine.toml"
        scene.write_text(
            f'[stage]\nsource = "replay:{DEMO}"\n'
            f'[plugins.osc]\ntarget = "127.0.0.1:{own.port}"\nlayout = "person"\n'
        )
        status = run_cli("run", scene, "--headless", "--pace", "fast", "--frames", "20",
                         "--osc", f"127.0.0.1:{extra.port}")  # fmt: skip
        assert status == 0, capsys.readouterr().err
        own.wait(count=20)
        extra.wait(count=20)
        assert "/pose/0" in addresses(own) and "/pose/0" in addresses(extra)  # person, inherited


def test_targets_stay_across_a_switch_and_a_reload_of_the_scene_file(tmp_path):
    first = tmp_path / "one.toml"
    first.write_text(f'[scene]\nname = "one"\n[stage]\nsource = "replay:{DEMO}"\nloop = true\n')
    second = tmp_path / "two.toml"
    second.write_text('[scene]\nname = "two"\n[plugins.skeleton]\n')
    seen: dict = {}
    with OscReceiver() as rx:
        stage = Stage([first, second], StageOptions(headless=True, duration=60,
                      osc=[osc_target(f"127.0.0.1:{rx.port},layout=values")]))  # fmt: skip

        def heard(after: float) -> bool:
            return any(m.received > after and m.address == "/pose/frame" for m in rx.messages)

        def during() -> None:
            try:
                seen["one"] = until(lambda: heard(0.0), 10)
                reply = stage.post(ControlMessage("scene", value="two")).result(10)
                seen["switch"] = reply.ok
                now = time.time()
                seen["two"] = until(lambda: heard(now), 10)
                second.write_text(second.read_text() + "thickness = 5\n")
                time.sleep(1.5)  # the scene file is polled every 0.5 s
                now = time.time()
                seen["reloaded"] = until(lambda: heard(now), 10)
            finally:
                stage.stop()

        thread = threading.Thread(target=during, daemon=True)
        thread.start()
        stage.run()
        thread.join(10)
    assert seen == {"one": True, "switch": True, "two": True, "reloaded": True}


def test_a_bad_osc_option_is_one_line_exit_2(capsys):
    for bad, words in (
        ("nowhere:99999", "out of range"),
        ("127.0.0.1:9000,layout=nonsense", "layout"),
        ("127.0.0.1:9000,colour=red", "colour"),
        ("127.0.0.1:9000,layout", "key=value"),
    ):
        status = run_cli("run", SCENES / "demo.toml", "--headless", "--frames", "2", "--osc", bad)
        err = capsys.readouterr().err.strip().splitlines()
        assert status == 2 and len(err) == 1 and words in err[0] and "--osc" in err[0], err
