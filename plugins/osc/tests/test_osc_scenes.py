"""scenes/touchdesigner.toml, max.toml and pd.toml run headless on the demo replay, and their
receivers get poses in the layout each one promises."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from osc_support import Receiver
from pythonosc.osc_packet import OscPacket

ROOT = Path(__file__).resolve().parents[3]
SCENES = {
    "touchdesigner": (10000, "/pose/0/nose/x"),
    "max": (9000, "/pose/0"),
    "pd": (9002, "/pose/0/left_shoulder"),
}


class FixedReceiver(Receiver):
    """A :class:`Receiver` on the scene's own port."""

    def __init__(self, port: int) -> None:
        import threading

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            self.sock.bind(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.sock.settimeout(0.05)
        self.port = port
        self.datagrams = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()


def receiver_on(port: int) -> Receiver | None:
    """A receiver on ``port``, or None when something else holds it."""
    try:
        return FixedReceiver(port)
    except OSError:
        return None


@pytest.mark.parametrize("name", list(SCENES))
def test_scene_runs_headless_on_the_demo_replay(name, capsys):
    from posestage.cli import main

    port, address = SCENES[name]
    receiver = receiver_on(port)
    try:
        status = main(["run", str(ROOT / "scenes" / f"{name}.toml"), "--headless",
                       "--pace", "fast", "--frames", "15"])  # fmt: skip
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
