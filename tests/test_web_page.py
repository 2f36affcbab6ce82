"""The control page in a real browser: Debian's chromium, headless, driven by playwright.

The page loads, draws the live skeletons from the pose stream, switches a scene (the second
one mirrored: the skeletons move to the other side), moves a setting (the stage's plugin takes
it), refuses nothing it should take; on a phone-sized viewport too. Screenshots go to
``POSESTAGE_SCREENSHOTS`` when set; the docs' pictures are tools/web_screenshots.py's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from test_web import DEMO, Running

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="no chromium (apt install chromium); CI installs it",
)


def still_replay(tmp_path: Path) -> Path:
    """The demo's first frame, held for 3 s (looped), its first person only: someone standing
    still at the left."""
    import json

    header, first = DEMO.read_text().splitlines()[:2]
    frame = json.loads(first)
    frame["people"] = frame["people"][:1]
    lines = [header]
    for i in range(90):
        frame.update(index=i, timestamp=frame["timestamp"] + 1 / 30)
        lines.append(json.dumps(frame))
    path = tmp_path / "still.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


def scene(name: str, mirror: bool, replay: Path) -> str:
    return (
        f'[scene]\nname = "{name}"\n[stage]\nsource = "replay:{replay}"\nloop = true\n'
        f"mirror = {str(mirror).lower()}\n[plugins.skeleton]\nthickness = 3\n"
    )


def mean_x(frame: dict) -> list[float]:
    """Each person's mean keypoint x, left to right (people seen in this frame)."""
    out = []
    for p in frame["people"]:
        if p["missing"]:
            continue  # kept through a dropout at their last place
        xs = [k[0] for k in p["keypoints"] if k[2] > 0.3]
        out.append(sum(xs) / len(xs))
    return sorted(out)


def shot(page, name: str) -> None:
    folder = os.environ.get("POSESTAGE_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / name), full_page=True)


@pytest.mark.parametrize("viewport", [(1280, 900), (390, 844)], ids=["desktop", "phone"])
def test_the_page_switches_a_scene_moves_a_setting_and_draws_the_skeletons(tmp_path, viewport):
    assert CHROMIUM is not None, "CI installs chromium"
    width, height = viewport
    replay = still_replay(tmp_path)
    with Running([scene("plain", False, replay), scene("mirrored", True, replay)], tmp_path) as run:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": width, "height": height},
                                        is_mobile=width < 500, has_touch=width < 500)  # fmt: skip
                errors: list[str] = []
                page.on("pageerror", lambda err: errors.append(str(err)))
                page.goto(run.base + "/")
                page.wait_for_function("window.posestage.frames > 5", timeout=20000)
                page.wait_for_selector("[data-scene=mirrored]")
                assert page.text_content("#scene") == "plain"
                assert "fps" in page.text_content("#health")
                drawn = page.evaluate(
                    "() => { const c = document.getElementById('preview');"
                    " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                    " let n = 0; for (let i = 0; i < d.length; i += 4)"
                    " if (d[i] + d[i + 1] + d[i + 2] > 0) n++; return n; }"
                )
                assert drawn > 500, "skeletons are drawn on the preview"
                before = mean_x(page.evaluate("window.posestage.lastFrame"))
                shot(page, f"web-{'phone' if width < 500 else 'page'}.png")

                page.click("[data-scene=mirrored]")
                page.wait_for_function(
                    "document.getElementById('scene').textContent === 'mirrored'", timeout=20000
                )
                page.wait_for_function("window.posestage.lastFrame.scene === 'mirrored'",
                                       timeout=20000)  # fmt: skip
                after = mean_x(page.evaluate("window.posestage.lastFrame"))

                slider = page.locator("[data-setting='skeleton.thickness']")
                slider.fill("9")
                slider.dispatch_event("change")
                page.wait_for_function(
                    "document.getElementById('reply').textContent.includes('thickness')",
                    timeout=20000,
                )  # fmt: skip
                reply = page.text_content("#reply")
                taken = run.stage.host.settings_of("skeleton")["thickness"]
            finally:
                browser.close()
    assert not errors, errors
    assert reply == "skeleton.thickness = 9" and taken == 9
    mirrored = sorted(1.0 - x for x in before)
    assert len(after) == len(before) == 1 and before[0] < 0.3, (before, after)
    assert all(abs(a - m) < 0.01 for a, m in zip(after, mirrored)), (before, after)
    assert any(abs(a - b) > 0.03 for a, b in zip(after, before)), (before, after)
