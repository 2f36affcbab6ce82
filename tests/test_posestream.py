"""The pose stream format: exact round trips, bad lines with file:line, replay → tracker."""

from __future__ import annotations

import json

import numpy as np
import pytest

from posestage.errors import SourceError
from posestage.model.frames import PoseFrame
from posestage.model.keypoints import KEYPOINT_NAMES
from posestage.model.limits import MAX_LINE_BYTES, MAX_PEOPLE
from posestage.model.people import Person
from posestage.model.poses import Pose
from posestage.model.posestream import (
    FORMAT,
    VERSION,
    PoseStreamError,
    PoseStreamWriter,
    StreamFrame,
    StreamHeader,
    StreamPerson,
    open_posestream,
    read_posestream,
)

RNG = np.random.default_rng(7)


def random_person(id: int, slot: int, missing: int = 0) -> StreamPerson:
    return StreamPerson(
        id=id,
        slot=slot,
        score=float(RNG.random()),
        xy=(RNG.random((17, 2)) * [1280, 720]).astype(np.float32),
        scores=RNG.random(17).astype(np.float32),
        missing=missing,
    )


def header() -> StreamHeader:
    return StreamHeader(
        source="camera:/dev/video0", width=1280, height=720, model="posenet", start_time=1.7e9
    )


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "take.jsonl"
    frames = [
        StreamFrame(
            index=i,
            timestamp=1.7e9 + i / 30 + 1e-7 * i,
            width=1280,
            height=720,
            people=[random_person(1, 0), random_person(4, 1, missing=i % 2)] if i else [],
        )
        for i in range(20)
    ]
    with PoseStreamWriter(path, header()) as writer:
        for f in frames:
            writer.write(f)
    assert writer.closed and writer.frames_written == 20

    got_header, got = read_posestream(path)
    assert got_header == header()
    assert len(got) == len(frames)
    for a, b in zip(frames, got, strict=True):
        assert (b.index, b.timestamp, b.width, b.height) == (a.index, a.timestamp, 1280, 720)
        assert len(b.people) == len(a.people)
        for p, q in zip(a.people, b.people, strict=True):
            assert (q.id, q.slot, q.score, q.missing) == (p.id, p.slot, p.score, p.missing)
            assert q.xy.dtype == np.float32 and q.scores.dtype == np.float32
            assert np.array_equal(q.xy, p.xy) and np.array_equal(q.scores, p.scores)


def test_file_is_json_lines_with_header(tmp_path):
    path = tmp_path / "take.jsonl"
    with PoseStreamWriter(path, header()) as writer:
        writer.write(StreamFrame(0, 5.0, 640, 480, [random_person(2, 0)]))
    lines = path.read_text().splitlines()
    assert len(lines) == 2
    head, frame = json.loads(lines[0]), json.loads(lines[1])
    assert head["format"] == FORMAT and head["version"] == VERSION
    assert head["keypoints"] == list(KEYPOINT_NAMES)
    assert set(frame) == {"index", "timestamp", "width", "height", "people"}
    person = frame["people"][0]
    assert set(person) == {"id", "slot", "score", "missing", "keypoints"}
    assert len(person["keypoints"]) == 17 and all(len(k) == 3 for k in person["keypoints"])


def test_pose_frame_records_raw_keypoints_and_ids_never_pixels(tmp_path):
    raw = (RNG.random((17, 2)) * 400).astype(np.float32)
    person = Person(
        id=9,
        slot=2,
        score=0.8,
        xy=raw + 3.5,  # smoothed: must not be what is recorded
        scores=RNG.random(17).astype(np.float32),
        raw_xy=raw,
        missing=0,
        width=640,
        height=480,
    )
    image = np.full((480, 640, 3), 200, np.uint8)
    frame = PoseFrame(
        index=3, timestamp=12.5, captured=0.0, width=640, height=480, people=[person], image=image
    )
    path = tmp_path / "take.jsonl"
    with PoseStreamWriter(path, header()) as writer:
        writer.write(frame)
    assert path.stat().st_size < 3000  # no pixels in there
    _, (got,) = read_posestream(path)
    assert (got.index, got.timestamp, got.width, got.height) == (3, 12.5, 640, 480)
    (p,) = got.people
    assert (p.id, p.slot, p.score) == (9, 2, 0.8)
    assert np.array_equal(p.xy, raw) and np.array_equal(p.scores, person.scores)


def test_poses_leave_out_held_people_and_sort_by_score():
    a, b, c = random_person(1, 0), random_person(2, 1, missing=3), random_person(3, 2)
    a.score, c.score = 0.4, 0.9
    poses = StreamFrame(0, 0.0, 10, 10, [a, b, c]).poses()
    assert [p.score for p in poses] == [0.9, 0.4]
    assert isinstance(poses[0], Pose) and np.array_equal(poses[0].xy, c.xy)
    poses[0].xy[0, 0] = -1  # a copy: the record stays intact
    assert c.xy[0, 0] != -1


def test_writer_flushes_while_recording(tmp_path):
    path = tmp_path / "live.jsonl"
    writer = PoseStreamWriter(path, header(), flush_seconds=0.0)
    writer.write(StreamFrame(0, 1.0, 64, 48, [random_person(1, 0)]))
    with open_posestream(path) as reader:  # readable before close
        assert [f.index for f in reader] == [0]
    writer.close()
    writer.close()  # twice is fine


def test_writer_unwritable_path_is_one_clear_line(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(PoseStreamError) as err:
        PoseStreamWriter(blocker / "take.jsonl", header())
    msg = str(err.value)
    assert "\n" not in msg and "take.jsonl" in msg and "writable" in msg


def write_lines(tmp_path, *lines: str, end: str = "\n"):
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + end)
    return path


HEAD = json.dumps(header().to_dict())
GOOD = json.dumps({"index": 0, "timestamp": 1.0, "width": 64, "height": 48, "people": []})


@pytest.mark.parametrize(
    "lines, line_no, words",
    [
        ((HEAD, GOOD, "{not json"), 3, "not valid JSON"),
        ((HEAD, GOOD, GOOD, "[1, 2]"), 4, "JSON object"),
        ((HEAD, GOOD.replace('"width": 64', '"width": "wide"')), 2, "'width' must be a number"),
        (
            (
                HEAD,
                GOOD.replace("[]", '[{"id": 1, "slot": 0, "score": 1, "keypoints": [[1, 2, 3]]}]'),
            ),
            2,
            "17 rows",
        ),
        ((HEAD.replace('"version": 1', '"version": 99'), GOOD), 1, "upgrade posestage"),
        (('{"hello": "world"}', GOOD), 1, "not a pose stream header"),
        ((HEAD, GOOD, HEAD), 3, "second header"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path, lines, line_no, words):
    path = write_lines(tmp_path, *lines)
    with pytest.raises(PoseStreamError) as err:
        read_posestream(path)
    msg = str(err.value)
    assert f"{path}:{line_no}:" in msg and words in msg and "\n" not in msg
    assert isinstance(err.value, SourceError)


def test_empty_and_missing_files(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    with pytest.raises(PoseStreamError, match="empty file"):
        open_posestream(empty)
    with pytest.raises(PoseStreamError, match="not found"):
        open_posestream(tmp_path / "nope.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(PoseStreamError, match=r"binary.jsonl:1: not UTF-8"):
        open_posestream(binary)


def test_cut_short_last_line_is_skipped_but_a_bad_middle_line_is_not(tmp_path):
    path = write_lines(tmp_path, HEAD, GOOD, GOOD[:25], end="")  # recorder killed mid-write
    _, frames = read_posestream(path)
    assert len(frames) == 1
    path = write_lines(tmp_path, HEAD, GOOD[:25], GOOD)
    with pytest.raises(PoseStreamError, match=r"bad.jsonl:2: not valid JSON"):
        read_posestream(path)


def test_blank_lines_are_ignored(tmp_path):
    path = write_lines(tmp_path, HEAD, "", GOOD, "   ", GOOD)
    _, frames = read_posestream(path)
    assert len(frames) == 2


def test_replay_into_tracker_reproduces_the_people(tmp_path):
    """Record tracked people, feed the recording to a fresh tracker: same ids, slots, xy."""
    from posestage.tracking.tracker import Tracker

    def walker(x0: float, dx: float, t: int) -> np.ndarray:
        base = np.stack([np.linspace(-20, 20, 17), np.linspace(-80, 80, 17)], axis=1)
        return (base + [x0 + dx * t, 240] + RNG.normal(0, 1.5, (17, 2))).astype(np.float32)

    tracker = Tracker()
    path = tmp_path / "take.jsonl"
    recorded = []
    with PoseStreamWriter(path, header()) as writer:
        for t in range(60):
            poses = [Pose(0.9, walker(100, 8, t), np.full(17, 0.9, np.float32))]
            if not 20 <= t < 24:  # the second person drops out for a few frames
                poses.append(Pose(0.7, walker(560, -8, t), np.full(17, 0.8, np.float32)))
            if 40 <= t < 50:
                poses.append(Pose(0.5, walker(300, 0, t), np.full(17, 0.6, np.float32)))
            stamp = 1000.0 + t / 30 + (0.01 if t % 7 == 0 else 0.0)
            people = tracker.update(poses, 640, 480, stamp).people
            recorded.append(people)
            writer.write(PoseFrame(t, stamp, 0.0, 640, 480, people=people))

    replayed = Tracker()
    _, frames = read_posestream(path)
    for frame, want in zip(frames, recorded, strict=True):
        got = replayed.update(frame.poses(), frame.width, frame.height, frame.timestamp).people
        assert [(p.id, p.slot, p.missing) for p in got] == [(p.id, p.slot, p.missing) for p in want]
        for p, q in zip(got, want, strict=True):
            assert np.array_equal(p.xy, q.xy) and np.array_equal(p.raw_xy, q.raw_xy)
    assert {p.id for people in recorded for p in people} == {1, 2, 3}


# -- what a file claims, and what the reader takes -------------------------------------------

PERSON = {"id": 1, "slot": 0, "score": 0.5, "keypoints": [[1.0, 2.0, 0.5]] * 17}


def test_a_replay_skips_a_bad_middle_line_counts_it_and_goes_on(tmp_path, caplog):
    bad_lines = ["{not json", "[1, 2]", "x" * (MAX_LINE_BYTES + 10), GOOD.replace("64", "-1")]
    path = write_lines(tmp_path, HEAD, GOOD, *bad_lines, GOOD, "\xff garbage", GOOD)
    with open_posestream(path, strict=False) as reader:
        frames = list(reader)
        assert len(frames) == 3 and reader.skipped == 5
    said = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(said) == 3 and f"{path}:3:" in said[0]  # the first three said, then counted
    with pytest.raises(PoseStreamError, match=r"bad.jsonl:3: not valid JSON"):
        read_posestream(path)  # strict (tests, tools): the first bad line is an error


def test_sizes_a_file_claims_are_refused_in_one_line(tmp_path):
    path = write_lines(tmp_path, HEAD.replace('"width": 1280', '"width": 1000000000'), GOOD)
    with pytest.raises(PoseStreamError, match=r"1000000000x720 is outside 1x1 to 7680x4320"):
        open_posestream(path)
    path = write_lines(tmp_path, HEAD, GOOD.replace('"height": 48', '"height": 100000'))
    with open_posestream(path, strict=False) as reader:
        assert list(reader) == [] and reader.skipped == 1


def test_people_per_frame_are_capped_at_the_best_scored(tmp_path):
    crowd = [dict(PERSON, id=i, slot=i, score=i / 1000) for i in range(1000)]
    path = write_lines(tmp_path, HEAD, GOOD.replace("[]", json.dumps(crowd)))
    _, (frame,) = read_posestream(path)
    assert len(frame.people) == MAX_PEOPLE
    assert {p.id for p in frame.people} == set(range(1000 - MAX_PEOPLE, 1000))


def test_a_fifo_named_as_a_pose_stream_is_refused_without_waiting(tmp_path):
    import os
    import threading

    fifo = tmp_path / "show.jsonl"
    os.mkfifo(fifo)
    errors = []

    def open_it():
        try:
            open_posestream(fifo)
        except PoseStreamError as err:
            errors.append(str(err))

    thread = threading.Thread(target=open_it, daemon=True)
    thread.start()
    thread.join(30)  # a hang guard: opening a FIFO blocks until a writer comes
    assert not thread.is_alive() and errors and "not a regular file" in errors[0]
