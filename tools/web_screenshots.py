"""Make docs/web-page.png and docs/web-phone.png: the control page in headless chromium on the
demo replay (scenes/demo.toml and scenes/touchdesigner.toml), desktop and phone sized.

    python tools/web_screenshots.py [OUT_DIR]      # default: docs/
"""

from __future__ import annotations

import shutil
import sys
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from posestage.stage import Stage, StageOptions

ROOT = Path(__file__).resolve().parents[1]


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
            browser.close()
    finally:
        stage.stop()
        thread.join(20)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs")
