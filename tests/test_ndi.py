"""NDI in (issue 18): an NDI sender on 127.0.0.1 in the test (cyndilib, NDI's loopback
configuration from conftest: no mDNS, nothing on the machine's network) sends a shared photo;
``--source ndi:NAME`` finds it by a part of its name and the real model finds the people in it.
NDI compresses, so pixels and counts are compared with a tolerance."""

from __future__ import annotations

import time

import numpy as np
import pytest

from posestage.errors import SourceError
from posestage.hookspecs import hookimpl
from posestage.sources import SourceOptions, open_source

pytest.importorskip("cyndilib", reason="NDI: pip install 'posestage[ndi]'")

from servers import NdiSender as Sender  # noqa: E402


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

    with Sender("posestage test TouchDesigner", photo) as sender:
        source = open_source("ndi:touchdesigner")  # a unique part of the name, any case
        assert source.name.startswith("ndi:") and source.name.endswith(
            "(posestage test TouchDesigner)"
        )
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
    with Sender("posestage pixels", photo), open_source("ndi:PIXELS") as source:
        frame = source.read()
        assert frame.image.shape == (426, 640, 3)
        assert np.abs(frame.image.astype(int) - photo).mean() < 8  # compressed, nearly equal
    with (
        Sender("posestage small", photo),
        open_source("ndi:posestage small", SourceOptions(res=(320, 213))) as source,
    ):
        assert source.read().image.shape == (213, 320, 3)


def test_ndi_names_that_do_not_fit_are_one_line(photo):
    with Sender("posestage cam A", photo), Sender("posestage cam B", photo):
        with pytest.raises(SourceError) as err:
            open_source("ndi:posestage cam")
        assert "2 NDI sources match 'posestage cam'" in str(err.value)
        with pytest.raises(SourceError) as err:
            open_source("ndi:obs studio")
        msg = str(err.value)
        assert msg.startswith("--source ndi:obs studio: no NDI source matches 'obs studio'")
        assert "NDI_CONFIG_DIR" in msg and "\n" not in msg
    with pytest.raises(SourceError, match="name the NDI source"):
        open_source("ndi:")
