"""``posestage osc patch`` and ``posestage osc dump``: the generated Pure Data patch run in real
Pure Data (``pd -nogui``) receives every value of a replay for every slot; the Max patch routes
every address of its layout; the dump prints what arrives.

Pure Data 0.53 (Debian 12's ``puredata-core``) gives the slot of ``/pose/0/nose`` as a symbol,
so a plain ``[route 0 1 2]`` matches nothing: that is what these tests would catch.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from posestage_osc.encoder import Options
from posestage_osc.namespace import addresses
from posestage_osc.patches import _names, receive_names

from posestage.testing import OscReceiver, run_cli

ROOT = Path(__file__).resolve().parents[3]
DEMO_SCENE = ROOT / "scenes" / "demo.toml"
PD = shutil.which("pd")
needs_pd = pytest.mark.skipif(
    PD is None and not os.environ.get("CI"), reason="Pure Data is not installed (apt install "
    "puredata-core); CI installs it"
)  # fmt: skip


def free_udp_port() -> int:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def harness(names: list[str]) -> str:
    """A second Pd patch: ``[r NAME]`` → ``[print NAME]`` for every receiver, and a READY line."""
    lines = ["#N canvas 0 0 400 400 10;"]
    lines += [f"#X obj 10 {10 + i} r {n};" for i, n in enumerate(names)]
    lines += [f"#X obj 200 {10 + i} print {n};" for i, n in enumerate(names)]
    lines += ["#X obj 10 0 loadbang;", "#X obj 10 0 print READY;"]
    k = len(names)
    lines += [f"#X connect {i} 0 {i + k} 0;" for i in range(k)]
    lines.append(f"#X connect {2 * k} 0 {2 * k + 1} 0;")
    return "\n".join(lines) + "\n"


def expected_values(received) -> dict[str, list]:
    """Receiver name → the values sent to it, in order (what python-osc decoded)."""
    out: dict[str, list] = {}
    for m in received:
        names = out_names[m.address]
        for name, value in zip(names, m.args):
            out.setdefault(name, []).append(value)
    return out


out_names: dict[str, list[str]] = {}


def printed(text: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for line in text.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name != "READY":
            out.setdefault(name, []).append(value.strip())
    return out


def same(sent, shown: str) -> bool:
    if isinstance(sent, str):
        return shown in (sent, f"symbol {sent}")
    return math.isclose(float(shown), float(sent), rel_tol=2e-5, abs_tol=2e-6)


@needs_pd
@pytest.mark.parametrize("layout", ["values", "keypoints", "person", "poseosc-addr"])
def test_the_pd_patch_in_real_pure_data_receives_every_value_for_every_slot(tmp_path, layout):
    assert PD is not None, "CI installs puredata-core: pd must be there"
    port = free_udp_port()
    patch = tmp_path / "receiver.pd"
    assert run_cli("osc", "patch", "--for", "pd", "--layout", layout, "--port", port,
                   "-o", patch) == 0  # fmt: skip
    options = Options(layout=layout)
    names = receive_names(options)
    out_names.clear()
    out_names.update(names)
    every = sorted({n for v in names.values() for n in v})
    (tmp_path / "harness.pd").write_text(harness(every))
    log = tmp_path / "pd.txt"
    with log.open("w") as sink:
        pd = subprocess.Popen(
            [PD, "-nogui", "-noaudio", "-nomidi", "-stderr", "-open", str(patch),
             "-open", str(tmp_path / "harness.pd")],
            stdout=sink, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while "READY" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "READY" in log.read_text(), log.read_text()[-2000:]
        with OscReceiver() as truth:
            status = run_cli(
                "run", DEMO_SCENE, "--headless", "--pace", "realtime", "--frames", "30",
                "--osc", f"127.0.0.1:{port},layout={layout}",
                "--osc", f"127.0.0.1:{truth.port},layout={layout}",
            )  # fmt: skip
            assert status == 0
            sent = truth.wait_quiet()
            assert sent
            want = expected_values(truth.messages)
        size, deadline = -1, time.monotonic() + 20
        while time.monotonic() < deadline:  # until Pd printed everything
            time.sleep(0.3)
            now = log.stat().st_size
            if now == size:
                break
            size = now
    finally:
        pd.terminate()
        pd.wait(10)
    got = printed(log.read_text())
    assert "error" not in log.read_text().lower(), log.read_text()[:2000]
    slots = {part for name in want for part in name.split("-")[1:2] if part.isdigit()}
    assert slots == {str(k) for k in range(options.slots)}, "every slot was sent something"
    for slot in (0, 1):  # the replay's two people: their keypoints' values
        assert any(f"-{slot}-" in name and "nose" in name for name in want), slot
    missing = sorted(set(want) - set(got))
    assert not missing, f"Pure Data received nothing for {missing[:10]}"
    for name, values in want.items():
        shown = got[name]
        assert len(shown) == len(values), (name, len(shown), len(values))
        if name.endswith("latency_ms"):
            continue  # measured as each target is sent to: the two targets' differ
        bad = [(s, v) for s, v in zip(shown, values) if not same(v, s)]
        assert not bad, (name, bad[:3])


def test_the_max_patch_routes_every_address_of_its_layout(tmp_path):
    for layout in ("values", "keypoints", "person", "poseosc"):
        patch = tmp_path / f"{layout}.maxpat"
        assert run_cli("osc", "patch", "--for", "max", "--layout", layout, "-o", patch) == 0
        boxes = {
            b["box"]["id"]: b["box"] for b in json.loads(patch.read_text())["patcher"]["boxes"]
        }
        texts = [b.get("text", "") for b in boxes.values()]
        routed = {w for t in texts if t.startswith("route ") for w in t.split()[1:]}
        options = Options(layout=layout)
        assert routed == {a.path for a in addresses(options)}
        sends = {t[2:] for t in texts if t.startswith("s ")}
        assert sends == {n for a in addresses(options) for n in _names(a)}
        lines = json.loads(patch.read_text())["patcher"]["lines"]
        for line in lines:  # every cable joins two boxes through outlets and inlets they have
            (src, outlet), (dst, inlet) = (
                line["patchline"]["source"],
                line["patchline"]["destination"],
            )
            assert outlet < boxes[src]["numoutlets"] and inlet < boxes[dst]["numinlets"]


def test_dump_prints_what_arrives_and_a_bad_port_is_one_line(tmp_path, capsys):
    port = free_udp_port()
    result: dict = {}
    thread = threading.Thread(
        target=lambda: result.setdefault("status", run_cli("osc", "dump", str(port), "--count",
                                                           "40", "--duration", "30")),
        daemon=True,
    )  # fmt: skip
    thread.start()
    time.sleep(0.5)
    deadline = time.monotonic() + 20
    while thread.is_alive() and time.monotonic() < deadline:
        run_cli("run", DEMO_SCENE, "--headless", "--frames", "3", "--osc", f"127.0.0.1:{port}")
    thread.join(10)
    out = capsys.readouterr().out.splitlines()
    assert result["status"] == 0 and len(out) == 40
    assert any(line.startswith("/pose/frame ,iiff ") for line in out)
    assert any(line.startswith("/pose/0/nose/x ,f ") for line in out)
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        assert run_cli("osc", "dump", str(taken.getsockname()[1]), "--count", "1") == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "choose another port" in err[0]
    finally:
        taken.close()


def test_floor_and_zone_addresses_only_where_the_room_has_them(tmp_path):
    options = Options(layout="values", slots=2)
    plain = {a.path for a in addresses(options)}
    assert not any("/floor" in p or p.startswith("/zone/") for p in plain)
    room = {a.path: a for a in addresses(options, zones=("door", "stage"), floor=True)}
    assert {"/pose/0/floor", "/pose/1/floor"} <= set(room)
    for zone in ("door", "stage"):
        assert room[f"/zone/{zone}/count"].types == "ii"
        assert f"/zone/{zone}/enter" in room and f"/zone/{zone}/leave" in room
    out = tmp_path / "room.pd"
    assert run_cli("osc", "patch", "--for", "pd", "--zones", "door", "--floor", "-o", out) == 0
    text = out.read_text()
    assert "door" in text and "floor" in text
