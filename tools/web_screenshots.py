"""Make docs/web-page.png and docs/web-phone.png: the control page in headless chromium on the
demo replay (scenes/demo.toml and scenes/touchdesigner.toml), desktop and phone sized; and
docs/web-room.png: the room on the page, once a floor calibration and two zones are sent to
the running stage as the page sends them (live only: no scene file is written).

    python tools/web_screenshots.py [OUT_DIR]      # default: docs/
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from posestage.hookspecs import ControlMessage
from posestage.stage import Stage, StageOptions

ROOT = Path(__file__).resolve().parents[1]
#: The room the room picture shows: a 4 × 3 m floor seen by the demo's camera, two zones.
ROOM = {
    "floor": [[0.0, 0.0], [4.0, 0.0], [4.0, 3.0], [0.0, 3.0]],
    "image": [[90.0, 190.0], [550.0, 190.0], [630.0, 470.0], [10.0, 470.0]],
    "size": "640x480",
    "zones": {"left": [[0.2, 0.5], [1.9, 0.5], [1.9, 2.8], [0.2, 2.8]],
              "right": [[2.1, 0.5], [3.8, 0.5], [3.8, 2.8], [2.1, 2.8]]},
}  # fmt: skip


def main(out: Path) -> None:
    scenes = [ROOT / "scenes" / "touchdesigner.toml", ROOT / "scenes" / "demo.toml"]
    stage = Stage(scenes, StageOptions(headless=True, duration=60, web=("127.0.0.1", 0)))
    thread = threading.Thread(target=stage.run, daemon=True)
    thread.start()
    while stage.web is None or not stage.web._ready.is_set():
        time.sleep(0.05)
    base = f"http://127.0.0.1:{stage.web.address[1]}/"
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"),
                                        args=["--no-sandbox"])  # fmt: skip
            for name, size in (("web-page.png", (1100, 900)), ("web-phone.png", (390, 844))):
                page = browser.new_page(viewport={"width": size[0], "height": size[1]},
                                        device_scale_factor=1)  # fmt: skip
                page.goto(base)
                page.wait_for_function("window.posestage.frames > 40", timeout=30000)
                page.screenshot(path=str(out / name), full_page=False)
                page.close()
            reply = stage.post(ControlMessage("room", value=ROOM, source="screenshots")).result(20)
            assert reply.ok, reply.text
            page = browser.new_page(viewport={"width": 1100, "height": 1400},
                                    device_scale_factor=1)  # fmt: skip
            page.goto(base)
            page.wait_for_function("window.posestage.frames > 40 && window.posestage.room.state"
                                   " && window.posestage.room.state.calibrated",
                                   timeout=30000)  # fmt: skip
            page.screenshot(path=str(out / "web-room.png"), full_page=False)
            page.close()
            browser.close()
    finally:
        stage.stop()
        thread.join(20)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
