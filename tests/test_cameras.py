"""Cameras through PyAV's device inputs (issue 18), where there is no camera: FFmpeg's ``lavfi``
test pictures opened as virtual cameras, through the same code a webcam goes through (listing,
``camera:N`` / ``camera:NAME``, the mode picked for ``--res``/``--fps``, the device format
opened with its size, rate and pixel format, decoded and converted, reopened when unplugged).
What runs only with a real device (AVFoundation, DirectShow, V4L2 mode listing) is tested on
FFmpeg's own log lines, as the drivers read them.
"""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from posestage.errors import SourceError
from posestage.hookspecs import hookimpl
from posestage.sources import SourceOptions, open_source
from posestage.sources.camera import CameraSource, list_cameras
from posestage.sources.devices import VIRTUAL_ENV, Mode, pick_mode
from posestage.sources.platforms import (
    parse_avfoundation_modes,
    parse_dshow_devices,
    parse_dshow_options,
    parse_v4l2_formats,
)


@pytest.fixture
def cameras(tmp_path, monkeypatch):
    """A folder of virtual cameras (``NAME.lavfi``), made the system's cameras."""
    folder = tmp_path / "cameras"
    folder.mkdir()
    monkeypatch.setenv(VIRTUAL_ENV, str(folder))

    def plug(name: str, graph: str = "testsrc2"):
        (folder / f"{name}.lavfi").write_text(graph + "\n", encoding="utf-8")
        return folder / f"{name}.lavfi"

    return plug


def test_a_virtual_camera_opens_as_a_webcam_in_the_size_and_rate_asked(cameras):
    cameras("FaceTime HD Camera")
    cameras("USB Video Class")
    assert [c.split(" (")[0] for c in list_cameras()] == ["FaceTime HD Camera", "USB Video Class"]
    start = time.time()
    with open_source("camera:usb", SourceOptions(res=(640, 480), fps=15)) as src:
        assert isinstance(src, CameraSource) and src.name == "camera:USB Video Class"
        assert src.live and src.mirror_by_default and src.continuous
        assert (src.width, src.height) == (640, 480) and src.fps == 15
        assert src.request.mode == Mode(640, 480, "yuv420p", 15.0, 15.0)
        assert src.mode_line == "640x480@15 yuv420p"
        frames = [src.read() for _ in range(5)]
    end = time.time()
    assert all(f.image.shape == (480, 640, 3) for f in frames)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    stamps = [f.timestamp for f in frames]  # capture times on this machine's wall clock
    assert stamps == sorted(stamps) and start <= stamps[0] and stamps[-1] <= end
    assert frames[0].image.std() > 10  # a picture, not a black frame


def test_camera_n_and_the_default_size(cameras):
    cameras("a")
    cameras("b", "smptebars")
    with open_source("camera:1") as src:  # no --res / --fps: 1280x720 at 30
        assert src.name == "camera:b" and (src.width, src.height) == (1280, 720)
        assert src.fps == 30 and src.read().image.shape == (720, 1280, 3)
    with open_source("camera", SourceOptions(res=(320, 240))) as src:  # resized from 640x480
        assert src.name == "camera:a" and src.request.mode.size == (640, 480)
        assert src.read().image.shape == (240, 320, 3)


def test_bad_camera_specs_are_one_line_naming_the_cameras(cameras):
    cameras("Logitech C920")
    cameras("Logitech Brio")
    for spec, words in (
        ("camera:logitech", "2 cameras match 'logitech' (Logitech Brio, Logitech C920)"),
        ("camera:razer", "no such camera; cameras found: camera:0 (Logitech Brio"),
        ("camera:5", "there is no camera 5; cameras found: camera:0 (Logitech Brio"),
    ):
        with pytest.raises(SourceError) as err:
            open_source(spec)
        assert str(err.value).startswith(f"--source {spec}: {words}"), str(err.value)
        assert "\n" not in str(err.value)
    with pytest.raises(SourceError, match=r"--fps: expected frames per second"):
        SourceOptions(fps=0)


def test_no_camera_says_what_to_use_instead(cameras):
    with pytest.raises(SourceError) as err:
        open_source("camera")
    msg = str(err.value)
    assert msg.startswith("--source camera: no camera found; cameras found: none. Connect one")
    assert "--source replay:scenes/demo.jsonl" in msg and "\n" not in msg


def test_mjpeg_is_picked_when_offered_at_the_asked_size():
    modes = [
        Mode(1920, 1080, "yuyv422", 5, 5),
        Mode(1920, 1080, "mjpeg", 5, 30),
        Mode(1280, 720, "yuyv422", 5, 10),
        Mode(1280, 720, "mjpeg", 5, 30),
        Mode(640, 480, "yuyv422", 5, 30),
        Mode(640, 360, "yuyv422", 5, 30),
    ]
    assert pick_mode(modes, (1920, 1080), 30).mode == Mode(1920, 1080, "mjpeg", 5, 30)
    assert pick_mode(modes, None, None).mode.pixel_format == "mjpeg"  # 1280x720 at 30
    assert pick_mode(modes, (640, 480), 30).mode == Mode(640, 480, "yuyv422", 5, 30)
    assert pick_mode(modes, (640, 360), 30).mode.size == (640, 360)  # the same shape
    assert pick_mode(modes, (1024, 576), 30).mode.size == (1280, 720)  # nearest 16:9, bigger
    fastest = pick_mode([Mode(1920, 1080, "yuyv422", 5, 5)], (1920, 1080), 30)
    assert fastest.fps == 5  # the rate is not offered at this size: the fastest there is
    nv12 = pick_mode([Mode(1280, 720, "uyvy422", 1, 30), Mode(1280, 720, "nv12", 1, 30)])
    assert nv12.mode.pixel_format == "nv12"
    assert pick_mode([], (640, 480), 30) is None  # modes unknown: asked as given
    rates_unknown = pick_mode([Mode(1280, 720, "yuyv422"), Mode(1280, 720, "mjpeg")], None, 60)
    assert rates_unknown.mode.pixel_format == "mjpeg" and rates_unknown.fps == 60


# FFmpeg's own log lines, as each system's device input writes them.
V4L2_LOG = (
    "Compressed:       mjpeg :          Motion-JPEG : 1280x720 640x480 1920x1080\n"
    "Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 1280x720\n"
    "Raw       : Unsupported :               Y10B   : 640x480\n"
    "Raw       :        gray :                 GREY : {32-4096, 2}x{32-2304, 2}\n"
)
AVFOUNDATION_LOG = (
    "Selected video size (2x2) is not supported by the device.\nSupported modes:\n"
    "  640x480@[1.000000 30.000000]fps\n  1280x720@[1.000000 30.000000]fps\n"
)
DSHOW_DEVICES = (
    '"Integrated Camera" (video)\n  Alternative name "@device_pnp_\\\\?\\usb#vid_04f2"\n'
    '"Microphone Array" (audio)\n"OBS Virtual Camera" (video)\n'
)
DSHOW_OPTIONS = (
    'DirectShow video device options (from video devices)\n Pin "Capture" (alternative pin name "0")\n'
    "  vcodec=mjpeg  min s=1280x720 fps=30 max s=1280x720 fps=30\n"
    "  pixel_format=yuyv422  min s=640x480 fps=5 max s=640x480 fps=30 (tv, bt470bg/bt709/unknown, topleft)\n"
)


def test_the_drivers_read_ffmpegs_device_listings():
    assert parse_v4l2_formats(V4L2_LOG) == (
        Mode(1280, 720, "mjpeg"),
        Mode(640, 480, "mjpeg"),
        Mode(1920, 1080, "mjpeg"),
        Mode(640, 480, "yuyv422"),
        Mode(1280, 720, "yuyv422"),
    )
    assert parse_avfoundation_modes(AVFOUNDATION_LOG, ["nv12"]) == (
        Mode(640, 480, "nv12", 1.0, 30.0),
        Mode(1280, 720, "nv12", 1.0, 30.0),
    )
    assert parse_dshow_devices(DSHOW_DEVICES) == ["Integrated Camera", "OBS Virtual Camera"]
    assert set(parse_dshow_options(DSHOW_OPTIONS)) == {
        Mode(1280, 720, "mjpeg", 30.0, 30.0),
        Mode(640, 480, "yuyv422", 5.0, 30.0),
    }


class Frames:
    def __init__(self):
        self.frames = []

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append((time.time(), frame))


def test_a_camera_unplugged_mid_show_is_reopened_and_the_show_goes_on(cameras, monkeypatch):
    """The camera ends (as an unplugged one does) and its file is gone: the drop is reported
    once, a line stays on screen while it is away, and frames resume once it is back."""
    import posestage.stage.capture as capture
    from posestage.config.scenes import parse_scene
    from posestage.host import PluginHost
    from posestage.stage import Stage, StageOptions

    monkeypatch.setattr(capture, "SOURCE_RETRY_SECONDS", 0.2)
    plug = cameras("Brio", "testsrc2=duration=1")
    source = open_source("camera:brio", SourceOptions(res=(320, 240), fps=15))
    plugin, host = Frames(), PluginHost()
    host.register(plugin, "frames")
    scene = parse_scene('[stage]\nmodel = "posenet-353x481"\n[plugins.frames]\n', None, host)
    stage = Stage([scene], StageOptions(headless=True, duration=60), host=host, source=source)
    seen: dict[str, object] = {}

    def unplug_and_plug_back():
        while not plugin.frames:
            time.sleep(0.05)
        plug.unlink()  # unplugged: the picture ends after a second and the camera is gone
        deadline = time.monotonic() + 30
        while not stage.show.pinned() and time.monotonic() < deadline:
            time.sleep(0.05)
        seen["away"] = dict(stage.show.pinned())
        time.sleep(1.0)
        seen["count"] = len(plugin.frames)
        seen["back"] = time.time()
        plug.write_text("testsrc2=duration=1\n", encoding="utf-8")
        while len(plugin.frames) <= seen["count"] + 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        stage.show.stop("test over")

    helper = threading.Thread(target=unplug_and_plug_back, daemon=True)
    helper.start()
    report = stage.run()
    helper.join(5)
    away = list(seen["away"].values())
    assert away and "camera:Brio is away" in away[0] and "retrying" in away[0]
    dropped = [e for e in report.errors if "camera:Brio" in e and "read failed" in e]
    assert len(dropped) == 1 and "stopped sending frames" in dropped[0]
    assert any("camera:Brio: back after" in e for e in report.errors)
    later = [f for t, f in plugin.frames if t > seen["back"]]
    assert len(later) >= 3 and report.stopped_by == "test over"
    assert not stage.show.pinned()  # the line went with the camera's return


def test_posestage_run_on_a_camera_with_res_and_fps(cameras, caplog):
    from posestage.cli import main

    cameras("Studio Cam")
    caplog.set_level("INFO", logger="posestage")
    args = ["--source", "camera:studio", "--res", "320x240", "--fps", "15", "--headless"]
    code = main(["run", *args, "--frames", "5", "-m", "posenet-353x481"])
    assert code == 0
    assert "camera:Studio Cam: 640x480@15 yuv420p" in caplog.text  # the mode asked, resized
    assert main(["run", "--source", "camera", "--fps", "nope", "--headless"]) == 2


def test_posestage_cameras_lists_modes_and_ndi_sources(cameras, capsys, images_dir):
    import json

    from posestage.cli import main

    cameras("Brio 4K")
    cameras("Capture Card", "smptebars")
    pytest.importorskip("cyndilib")
    from servers import NdiSender

    image, name = np.zeros((48, 64, 3), np.uint8), f"posestage {uuid.uuid4().hex[:6]} NDI Out"
    with NdiSender(name, image):
        for _ in range(10):  # a loaded machine may take seconds to announce a new sender
            assert main(["cameras", "--ndi-seconds", "3"]) == 0
            out = capsys.readouterr().out.splitlines()
            if any(f"({name})'" in line for line in out):
                break
    assert out[0] == "cameras (virtual (lavfi)): 2"
    assert out[1].startswith("  --source camera:0   Brio 4K")
    assert out[2].split() == ["1920x1080", "yuv420p@15/30/60,", "rgb24@15/30/60"]
    assert any(line.startswith("  --source camera:1   Capture Card") for line in out)
    assert any(line.startswith("  --source 'ndi:") and f"({name})'" in line for line in out)
    assert main(["cameras", "--json", "--ndi-seconds", "0"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in listed["cameras"]] == ["Brio 4K", "Capture Card"]
    first = listed["cameras"][0]["modes"][0]
    assert first == {
        "width": 640,
        "height": 480,
        "format": "yuv420p",
        "min_fps": 15.0,
        "max_fps": 15.0,
    }


def test_doctor_shows_the_cameras(cameras, capsys):
    from posestage.cli import main

    cameras("Brio 4K")
    main(["doctor"])
    out = capsys.readouterr().out
    assert (
        "  ok       cameras     camera:0 Brio 4K (up to 1920x1080); modes: posestage cameras" in out
    )


def test_a_scene_that_needs_a_camera_says_what_to_run_it_with(cameras, capsys):
    from posestage.cli import main

    scene = Path(__file__).resolve().parents[1] / "scenes" / "skeleton.toml"
    assert main(["run", str(scene), "--headless"]) == 2  # no camera in the folder
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f'posestage: error: scene {scene} needs a camera (source = "camera")')
    assert "--source replay:scenes/demo.jsonl" in err and "--source VIDEO.mp4" in err
    cameras("Brio")  # with a camera the same scene starts (and stops after a frame)
    assert main(["run", str(scene), "--headless", "--frames", "1", "--res", "320x240"]) == 0
