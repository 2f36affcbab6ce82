"""scenes/touchdesigner.toml, max.toml and pd.toml run headless on the demo replay, and their
receivers get poses in the layout each one promises."""

from __future__ import annotations

from pathlib import Path

import pytest
from pythonosc.osc_packet import OscPacket

from posestage.testing import OscReceiver, run_cli

ROOT = Path(__file__).resolve().parents[3]
SCENES = {
    "touchdesigner": (10000, "/pose/0/nose/x"),
    "max": (9000, "/pose/0"),
    "pd": (9002, "/pose/0/left_shoulder"),
}


def receiver_on(port: int) -> OscReceiver | None:
    """A receiver on the scene's own ``port``, or None when something else holds it."""
    try:
        return OscReceiver(port=port)
    except OSError:
        return None


@pytest.mark.parametrize("name", list(SCENES))
def test_scene_runs_headless_on_the_demo_replay(name, capsys):
    port, address = SCENES[name]
    receiver = receiver_on(port)
    try:
        status = run_cli("run", ROOT / "scenes" / f"{name}.toml", "--headless",
                         "--pace", "fast", "--frames", "15")  # fmt: skip
        err = capsys.readouterr().err
        assert status == 0, err
        assert "15 frames" in err
        if receiver is None:
            pytest.skip(f"port {port} is in use here: the scene ran, its output was not checked")
        addresses = {
            m.message.address for d in receiver.wait_quiet() for m in OscPacket(d).messages
        }
        assert address in addresses and "/pose/frame" in addresses
    finally:
        if receiver is not None:
            receiver.close()
