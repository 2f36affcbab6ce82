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


def room_table(page) -> dict:
    return page.evaluate("window.posestage.room.state && window.posestage.room.state.table")


def type_in(page, selector: str, value: float, until: str) -> None:
    """Type ``value`` into the field, and wait for the stage's room to say ``until`` (JS)."""
    field = page.locator(selector)
    field.fill(str(value))
    field.dispatch_event("change")
    page.wait_for_function(f"(() => {{ const t = window.posestage.room.state.table; return {until}; }})()",
                           timeout=20000)  # fmt: skip


def test_the_page_edits_the_room_and_the_stage_counts_in_the_new_zone(tmp_path):
    assert CHROMIUM is not None, "CI installs chromium"
    replay = still_replay(tmp_path)
    with Running([scene("mirrored", True, replay)], tmp_path) as run:
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                errors: list[str] = []
                page.on("pageerror", lambda err: errors.append(str(err)))
                page.goto(run.base + "/")
                page.wait_for_function("window.posestage.frames > 3 && window.posestage.room.state",
                                       timeout=20000)  # fmt: skip
                frame = page.evaluate("window.posestage.lastFrame")
                width, height = frame["width"], frame["height"]

                page.click("[data-testid=add-zone]")
                page.wait_for_selector("[data-corner='zone1.0.x']", timeout=20000)
                # a corner dragged on the (mirrored) preview to its middle
                first = room_table(page)["zones"]["zone1"][0]
                page.evaluate("window.scrollTo(0, 0)")
                box = page.locator("#preview").bounding_box()
                at = ((width - 1 - first[0]) / width, first[1] / height)
                page.mouse.move(box["x"] + at[0] * box["width"], box["y"] + at[1] * box["height"])
                page.mouse.down()
                page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=5)
                page.mouse.up()
                page.wait_for_function("window.posestage.room.state.table.zones.zone1[0][1] "
                                       f"!== {first[1]}", timeout=20000)  # fmt: skip
                dragged = room_table(page)["zones"]["zone1"][0]
                # the new zone, in camera pixels, stretched over the whole picture
                for j, (x, y) in enumerate([(0, 0), (width, 0), (width, height), (0, height)]):
                    type_in(
                        page, f"[data-corner='zone1.{j}.x']", x, f"t.zones.zone1[{j}][0] === {x}"
                    )
                    type_in(
                        page, f"[data-corner='zone1.{j}.y']", y, f"t.zones.zone1[{j}][1] === {y}"
                    )
                page.wait_for_function("(window.posestage.lastFrame.zones || []).some("
                                       "(z) => z.name === 'zone1' && z.count > 0)", timeout=20000)  # fmt: skip
                counted = run.stage.pipeline.frame.zone("zone1").count
                page.wait_for_function("document.querySelector('[data-count=zone1]')"
                                       ".textContent.startsWith('1 in')", timeout=20000)  # fmt: skip

                type_in(page, "[data-testid=zone-name-zone1]", "door", "'door' in t.zones")
                renamed = list(run.stage.pipeline.room_settings.zones)

                page.click("[data-testid=zone-add-corner-door]")  # 5 corners
                page.wait_for_function("window.posestage.room.state.table.zones.door.length === 5")
                # a bad zone from the page: fewer than 3 corners is refused, nothing changes
                corners = page.locator("[data-zone=door] .row button")
                for n in (4, 3):
                    corners.last.click()
                    page.wait_for_function(
                        f"window.posestage.room.state.table.zones.door.length === {n} && "
                        f"document.querySelectorAll('[data-zone=door] .row').length === {n + 1}",
                        timeout=20000,
                    )
                corners.last.click()
                page.wait_for_function("document.getElementById('reply').className === 'error'",
                                       timeout=20000)  # fmt: skip
                refused = page.text_content("#reply")
                kept = len(run.stage.pipeline.room_settings.zones["door"])

                # floor marks: a 1 m square, then a click on each on the preview (mirrored)
                page.click("#add-mark")
                page.wait_for_function("(window.posestage.room.state.table.floor || []).length === 4",
                                       timeout=20000)  # fmt: skip
                for i in (1, 2):  # a 4 × 1 m rectangle
                    type_in(page, f"[data-testid=mark-{i}] input[aria-label='floor x']", 4,
                            f"t.floor[{i}][0] === 4")  # fmt: skip
                page.click("#pick-marks")
                page.locator("#preview").scroll_into_view_if_needed()
                box = page.locator("#preview").bounding_box()
                clicks = [(0.2, 0.6), (0.8, 0.6), (0.9, 0.9), (0.1, 0.9)]
                for u, v in clicks:
                    page.mouse.click(box["x"] + u * box["width"], box["y"] + v * box["height"])
                page.wait_for_function("window.posestage.room.state.calibrated", timeout=20000)
                state = page.evaluate("window.posestage.room.state")
                calibrated = run.stage.pipeline.room_settings.calibrated
                status = page.text_content("[data-testid=room-status]")

                page.click("[data-testid=save-room]")
                page.wait_for_function(
                    "document.getElementById('reply').textContent.includes('written')",
                    timeout=20000,
                )  # fmt: skip
                saved = page.text_content("#reply")
            finally:
                browser.close()
        running = run.stage.control.current_scene.room_settings()
    from posestage.config.scenes import load_scene

    reloaded = load_scene(tmp_path / "scene0.toml").room_settings()
    assert not errors, errors
    assert abs(dragged[0] - (width - 1 - width / 2)) < 2 and abs(dragged[1] - height / 2) < 2
    assert counted >= 1 and renamed == ["door"]
    assert "door" in refused and "at least 3" in refused and "\n" not in refused and kept == 3
    assert state["table"]["floor"] == [[0, 0], [4, 0], [4, 1], [0, 1]]
    for (u, v), (x, y) in zip(clicks, state["table"]["image"], strict=True):
        assert abs(x - (width - 1 - u * width)) < 2 and abs(y - v * height) < 2  # not mirrored
    assert state["table"]["size"] == f"{width}x{height}"
    assert calibrated and status.startswith("calibrated, reprojection error")
    assert saved.startswith("room: written to scene0.toml") and reloaded == running
