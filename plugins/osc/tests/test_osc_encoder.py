"""The encoder against python-osc, byte for byte, and the values against the frames sent."""

from __future__ import annotations

import dataclasses
import itertools

import numpy as np
import pytest
from posestage_osc import reference
from posestage_osc.encoder import FrameEncoder, Options
from posestage_osc.layouts import LAYOUTS
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_packet import OscPacket

from posestage import KEYPOINT_NAMES
from posestage import osc_wire as wire

OPTION_SETS = [
    {},
    {"below": "omit", "min_score": 0.5},
    {"coords": "pixels", "y_up": True, "address_by": "id", "health": True},
    {"y_up": True, "slots": 2, "prefix": "/td/", "min_score": 0.0, "max_datagram": 512},
    {"max_datagram": 65507, "below": "omit", "min_score": 0.3, "address_by": "id"},
]


@pytest.mark.parametrize(
    "layout,extra", list(itertools.product(LAYOUTS, OPTION_SETS)),
    ids=[f"{a}-{i}" for a, i in itertools.product(LAYOUTS, range(len(OPTION_SETS)))],
)  # fmt: skip
def test_bytes_equal_python_osc(frames, layout, extra):
    options = Options(layout=layout, **extra)
    encoder = FrameEncoder(options)
    for frame, entered, left in frames:
        ours = encoder.encode(
            frame, entered, left, now=frame.captured + 0.0125, dropped=4, device="cpu"
        )
        theirs = reference.datagrams(
            frame, options, entered, left, latency_ms=12.5, dropped=4, device="cpu"
        )
        assert ours == theirs, (layout, extra, frame.index)


def test_timetag_is_the_capture_time_and_split_bundles_share_it(frames):
    encoder = FrameEncoder(Options(layout="values", max_datagram=1472))
    for frame, entered, left in frames:
        datagrams = encoder.encode(frame, entered, left)
        assert len(datagrams) > 1  # 2-3 people in `values` do not fit one datagram
        for data in datagrams:
            assert len(data) <= 1472
            bundle = OscBundle(data)
            assert bundle.timestamp == pytest.approx(frame.timestamp, abs=1e-6)  # the frame's
            assert data[8:16] == wire.timetag(frame.timestamp)


def test_a_message_larger_than_the_datagram_travels_alone(frames):
    encoder = FrameEncoder(Options(layout="poseosc", max_datagram=256))
    frame, entered, left = frames[5]
    datagrams = encoder.encode(frame, entered, left)
    arr = [d for d in datagrams if b"/poses/arr" in d]
    assert len(arr) == 1 and len(arr[0]) > 256
    assert len(OscBundle(arr[0]).content(0).params) == 3 + 52 * len(frame.people)


def decoded(datagrams: list[bytes]) -> dict[str, list]:
    """address → args, from python-osc's own parser (one frame: each address at most once)."""
    out: dict[str, list] = {}
    for data in datagrams:
        for m in OscPacket(data).messages:
            assert m.message.address not in out, m.message.address
            out[m.message.address] = list(m.message.params)
    return out


@pytest.mark.parametrize("layout", ["values", "keypoints", "person"])
def test_values_equal_the_frames(frames, layout):
    """Decoded by python-osc: frame message, presence per slot (empty slots 0), enter/leave with
    the id, every keypoint normalised, score 0 below the threshold and while unseen."""
    encoder = FrameEncoder(Options(layout=layout, min_score=0.4, slots=4))
    prefix = "/pose"
    saw_missing = saw_leave = False
    for frame, entered, left in frames:
        got = decoded(encoder.encode(frame, entered, left))
        assert got[f"{prefix}/frame"][:2] == [frame.index, len(frame.people)]
        assert got[f"{prefix}/frame"][2] == pytest.approx(29.97, rel=1e-6)
        slots = {p.slot: p for p in frame.people}
        for s in range(4):
            assert got[f"{prefix}/{s}/present"] == [1 if s in slots else 0]
        for p in entered:
            assert got[f"{prefix}/{p.slot}/enter"] == [p.id]
        for p in left:
            saw_leave = True
            assert got[f"{prefix}/{p.slot}/leave"] == [p.id]
            assert got[f"{prefix}/{p.slot}/present"] == [0]
        for s in range(4):
            if s not in slots:
                assert not any(a.startswith(f"{prefix}/{s}/") and not a.endswith(
                    ("/present", "/leave")) for a in got)  # fmt: skip
        for p in frame.people:
            saw_missing |= p.missing > 0
            xy = p.xy / np.array([640, 480], np.float32)
            scores = np.where((p.scores >= 0.4) & (p.missing == 0), p.scores, 0)
            for j, name in enumerate(KEYPOINT_NAMES):
                if layout == "values":
                    sent = [got[f"{prefix}/{p.slot}/{name}/{c}"][0] for c in ("x", "y", "score")]
                elif layout == "keypoints":
                    sent = got[f"{prefix}/{p.slot}/{name}"]
                else:
                    args = got[f"{prefix}/{p.slot}"]
                    assert args[0] == p.id and args[1] == pytest.approx(p.score, rel=1e-6)
                    sent = args[2 + 3 * j : 5 + 3 * j]
                expected = [np.clip(xy[j, 0], 0, 1), np.clip(xy[j, 1], 0, 1), scores[j]]
                assert sent == pytest.approx(expected, abs=1e-6), (frame.index, name)
    assert saw_missing and saw_leave  # the stream exercised dropouts and leaving


def test_omit_leaves_low_keypoints_out_and_never_sends_stale_ones(frames):
    encoder = FrameEncoder(Options(layout="keypoints", min_score=0.5, below="omit"))
    for frame, entered, left in frames:
        got = decoded(encoder.encode(frame, entered, left))
        for p in frame.people:
            for j, name in enumerate(KEYPOINT_NAMES):
                sent = f"/pose/{p.slot}/{name}" in got
                assert sent == bool(p.scores[j] >= 0.5 and p.missing == 0)


def test_pixels_y_up_by_id_and_poseosc_arr(frames):
    frame, entered, left = frames[3]
    got = decoded(FrameEncoder(Options(layout="keypoints", coords="pixels", y_up=True,
                                       address_by="id", min_score=0)).encode(frame))  # fmt: skip
    for p in frame.people:
        x, y, _ = got[f"/pose/{p.id}/nose"]
        assert (x, y) == pytest.approx((np.clip(p.xy[0, 0], 0, 640), 480 - p.xy[0, 1]), abs=1e-3)
        assert got[f"/pose/{p.id}/present"] == [1]
    arr = decoded(FrameEncoder(Options(layout="poseosc", min_score=0)).encode(frame))["/poses/arr"]
    assert arr[:3] == [640, 480, len(frame.people)]
    for k, p in enumerate(sorted(frame.people, key=lambda q: q.slot)):
        block = arr[3 + 52 * k : 3 + 52 * (k + 1)]
        assert block[0] == pytest.approx(p.score, rel=1e-6)
        assert block[1:3] == pytest.approx(np.clip(p.xy[0], 0, [640, 480]), abs=1e-3)


def test_poseosc_addr_numbers_people_like_poseosc(frames):
    frame, entered, left = frames[30]
    got = decoded(FrameEncoder(Options(layout="poseosc-addr")).encode(frame))
    assert got["/nPoses"] == [len(frame.people)] and got["/videoWidth"] == [640]
    for i in range(len(frame.people)):
        assert len(got[f"/poses/{i}/keypoints/leftWrist/position"]) == 2
        assert f"/poses/{i}/score" in got


def test_nan_and_out_of_image_coordinates_are_clamped(frames):
    frame, _, _ = frames[0]
    first = frame.people[0]
    xy = first.xy.copy()
    xy[3] = [np.nan, np.inf]
    xy[4] = [-50, 9999]
    people = (dataclasses.replace(first, xy=xy), *frame.people[1:])
    frame = dataclasses.replace(frame, people=people)  # frames are frozen: a changed copy
    got = decoded(FrameEncoder(Options(layout="keypoints", min_score=0)).encode(frame))
    slot = frame.people[0].slot
    assert got[f"/pose/{slot}/left_ear"][:2] == [0.0, 1.0]
    assert got[f"/pose/{slot}/right_ear"][:2] == [0.0, 1.0]


def test_decoder_reads_what_python_osc_builds_and_rejects_garbage():
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscMessageBuilder("/posestage/plugin/osc/min_score")
    for v in (0.5, 3, "text", True, None, b"\x01\x02"):
        b.add_arg(v)
    (m,) = wire.decode(b.build().dgram)
    assert m.address == "/posestage/plugin/osc/min_score"
    assert m.args == (0.5, 3, "text", True, None, b"\x01\x02")
    sent = reference.build_message("/a", [("i", 1), ("f", 2.5), ("s", "abcd")]).dgram
    assert wire.message("/a", [1, 2.5, "abcd"]) == sent
    for bad, kind in [
        (b"", "empty"), (b"abc\x00", "not OSC"), (b"/abc", "truncated"),
        (b"/a\x00\x00,x\x00\x00", "bad type tags"), (b"/a\x00\x00,i\x00\x00", "truncated"),
        (b"/a\x00\x00,b\x00\x00\x7f\xff\xff\xff", "truncated"),
        (b"#bundle\x00" + b"\x00" * 8 + b"\x00\x00\x00\x08/a\x00\x00", "truncated"),
        (b"/\xff\xfe\x00", "not UTF-8"),
    ]:  # fmt: skip
        with pytest.raises(wire.OscError) as info:
            wire.decode(bad)
        assert info.value.kind == kind, bad
    nested = wire.message("/x")
    for _ in range(6):
        nested = wire.bundle_header(0) + wire.element(nested)
    with pytest.raises(wire.OscError, match="too deep"):
        wire.decode(nested)
