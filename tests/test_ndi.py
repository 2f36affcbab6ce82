"""NDI in (issue 18): an NDI sender on 127.0.0.1 in the test (cyndilib, NDI's loopback
configuration from conftest: no mDNS, nothing on the machine's network) sends a shared photo;
``--source ndi:NAME`` finds it by a part of its name and the real model finds the people in it.
NDI compresses, so pixels and counts are compared with a tolerance."""

from __future__ import annotations

import time
import uuid

import numpy as np
import pytest

from posestage.errors import SourceError
from posestage.hookspecs import hookimpl
from posestage.sources import SourceOptions, open_source

pytest.importorskip("cyndilib", reason="NDI: pip install 'posestage[ndi]'")

from servers import NdiSender as Sender  # noqa: E402

#: In every sender's name: runs on the same machine (other checkouts, CI jobs) see each other's
#: senders on 127.0.0.1, and must not pick them.
RUN = uuid.uuid4().hex[:6]


@pytest.fixture(autouse=True)
def patient(monkeypatch):
    """A loaded machine may take seconds to announce a new sender."""
    import posestage.sources.ndi as ndi

    monkeypatch.setattr(ndi, "FIND_SECONDS", 15.0)


def seen(*names: str) -> None:
    """Wait until every sender named is announced (so that a test of two sees both)."""
    from posestage.sources.ndi import find_ndi_sources

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = find_ndi_sources(1.0)
        if all(any(f"({name})" in f for f in found) for name in names):
            return
    raise AssertionError(f"NDI senders {names} never seen")


@pytest.fixture(scope="module")
def photo(images_dir):
    from PIL import Image

    return np.asarray(Image.open(images_dir / "couple.jpg").convert("RGB").resize((640, 426)))


class Frames:
    def __init__(self):
        self.frames = []

    @hookimpl
    def posestage_frame(self, frame):
        self.frames.append(frame)


def test_poses_of_a_photo_arrive_through_ndi(photo):
    from posestage.config.scenes import parse_scene
    from posestage.host import PluginHost
    from posestage.stage import Stage, StageOptions

    with Sender(f"posestage {RUN} TouchDesigner", photo) as sender:
        source = open_source(f"ndi:{RUN.upper()} TOUCHDESIGNER")  # a unique part, any case
        assert source.name.startswith("ndi:")
        assert source.name.endswith(f"(posestage {RUN} TouchDesigner)")
        assert source.live and (source.width, source.height) == (640, 426)
        plugin, host = Frames(), PluginHost()
        host.register(plugin, "frames")
        scene = parse_scene('[stage]\nmodel = "posenet-353x481"\n[plugins.frames]\n', None, host)
        started = time.time()
        options = StageOptions(headless=True, frames=20, duration=60)
        report = Stage([scene], options, host=host, source=source).run()
        source.close()
    assert report.error is None and 15 <= len(plugin.frames) <= 20
    assert report.read <= sender.sent + 1  # lossy: nothing extra arrives, a few may not
    assert max(len(f.people) for f in plugin.frames) == 2  # the couple, found by the model
    stamps = [f.timestamp for f in plugin.frames]
    assert started <= stamps[0] and stamps == sorted(stamps) and stamps[-1] <= time.time()


def test_the_picture_arrives_and_sizes_follow_res(photo):
    with Sender(f"posestage {RUN} pixels", photo), open_source(f"ndi:{RUN} pixels") as source:
        frame = source.read()
        assert frame.image.shape == (426, 640, 3)
        assert np.abs(frame.image.astype(int) - photo).mean() < 8  # compressed, nearly equal
    with (
        Sender(f"posestage {RUN} small", photo),
        open_source(f"ndi:{RUN} small", SourceOptions(res=(320, 213))) as source,
    ):
        assert source.read().image.shape == (213, 320, 3)


def test_ndi_names_that_do_not_fit_are_one_line(photo):
    with Sender(f"posestage {RUN} cam A", photo), Sender(f"posestage {RUN} cam B", photo):
        seen(f"posestage {RUN} cam A", f"posestage {RUN} cam B")
        with pytest.raises(SourceError) as err:
            open_source(f"ndi:{RUN} cam")
        assert f"2 NDI sources match '{RUN} cam'" in str(err.value)
        with pytest.raises(SourceError) as err:
            open_source("ndi:obs studio")
        msg = str(err.value)
        assert msg.startswith("--source ndi:obs studio: no NDI source matches 'obs studio'")
        assert "NDI_CONFIG_DIR" in msg and "\n" not in msg
    with pytest.raises(SourceError, match="name the NDI source"):
        open_source("ndi:")


def test_an_ndi_sender_that_goes_away_is_found_again_and_the_show_goes_on(photo, monkeypatch):
    import threading

    import posestage.stage.capture as capture
    from posestage.config.scenes import parse_scene
    from posestage.host import PluginHost
    from posestage.stage import Stage, StageOptions

    monkeypatch.setattr(capture, "SOURCE_RETRY_SECONDS", 0.3)
    name = f"posestage {RUN} away"
    first = Sender(name, photo).__enter__()
    source = open_source(f"ndi:{RUN} away")
    plugin, host = Frames(), PluginHost()
    host.register(plugin, "frames")
    scene = parse_scene('[stage]\nmodel = "posenet-353x481"\n[plugins.frames]\n', None, host)
    stage = Stage([scene], StageOptions(headless=True, duration=90), host=host, source=source)
    marks: dict[str, float] = {}

    def away_and_back():
        try:
            while len(plugin.frames) < 3:
                time.sleep(0.05)
            first.__exit__(None, None, None)  # the sender quits
            while not stage.show.pinned():
                time.sleep(0.05)
            marks["back"] = time.time()
            with Sender(name, photo):  # and starts again, same name
                count = len(plugin.frames)
                deadline = time.monotonic() + 60
                while len(plugin.frames) < count + 3 and time.monotonic() < deadline:
                    time.sleep(0.05)
        finally:
            stage.show.stop("test over")

    helper = threading.Thread(target=away_and_back, daemon=True)
    helper.start()
    report = stage.run()
    helper.join(10)
    source.close()
    dropped = [e for e in report.errors if "read failed" in e]
    assert len(dropped) == 1 and "no video from the NDI sender" in dropped[0], report.errors
    assert any("back after" in e for e in report.errors)
    later = [f for f in plugin.frames if f.timestamp > marks["back"]]
    assert len(later) >= 3 and max(len(f.people) for f in later) == 2
