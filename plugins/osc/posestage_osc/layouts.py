"""The OSC layouts, described once, as data: every address, its arguments, types and ranges.

Everything else is derived from this module: the encoder compiles its byte templates from
:data:`LAYOUTS`, ``docs/osc.md``'s address reference is generated from it
(:func:`posestage_osc.docs.reference`; a test fails when the file disagrees), and the tests
decode what was sent against the same description. Pure data: it imports nothing of the
plugin. A next step
publishes it over OSCQuery.

A :class:`Message` is sent ``per``:

- ``"frame"``: once per frame;
- ``"slot"``: once per slot ``0 … slots-1`` every frame (by id: once per present person, and once
  with 0 when they leave) — the presence flag, so an empty slot reads 0 instead of freezing;
- ``"person"``: once per person in the frame;
- ``"keypoint"``: once per keypoint of every person (the only messages ``below = "omit"`` can
  leave out);
- ``"enter"`` / ``"leave"``: when a person enters / leaves;
- ``"health"``: once per frame when ``health = true``;
- ``"floor"``: once per person who has a floor position (a calibrated ``[room]``);
- ``"zone"``: once per zone of the scene's ``[room.zones]`` every frame;
- ``"zone enter"`` / ``"zone leave"``: when someone comes into / goes out of a zone.

Address placeholders: ``{prefix}`` (the ``prefix`` setting), ``{key}`` (slot, or id with
``address_by = "id"``; ``{index}`` in PoseOSC's ADDR layout: 0 … count-1 in slot order),
``{keypoint}`` (``left_wrist``), ``{part}`` (PoseOSC's ``leftWrist``) and ``{zone}`` (the zone's
name).

Argument names are the values sent: frame ``index``, ``people``, ``fps``, ``latency_ms``,
``width``, ``height``, ``count``; ``present``; ``id``; person ``score``; keypoint ``x``, ``y``,
``score``; health ``inference_ms``, ``dropped``, ``device``; floor ``floor_x``, ``floor_y``
(metres), ``floor_score``; zone ``count``, ``visits``, and on its events ``id``, ``slot``,
``dwell`` (seconds). ``keypoints`` stands for 17 ×
(x ``f``, y ``f``, score ``f``) in :data:`posestage.model.keypoints.KEYPOINT_NAMES` order and
``poses`` for, per person in slot order, score ``f`` then ``keypoints``.
"""

from __future__ import annotations

from dataclasses import dataclass

from posestage import KEYPOINT_NAMES

PARTS: tuple[str, ...] = tuple(
    n.split("_")[0] + "".join(w.title() for w in n.split("_")[1:]) for n in KEYPOINT_NAMES
)

X_RANGE = "0..1 (pixels: 0..width)"
Y_RANGE = "0..1 down (y_up: up; pixels: 0..height)"
SCORE_RANGE = "0..1 (0 below min_score or while the person is not seen)"


@dataclass(frozen=True)
class Arg:
    name: str
    type: str  # OSC type tag: i, f, s — or "*" for the repeated groups keypoints / poses
    range: str = ""


@dataclass(frozen=True)
class Message:
    address: str
    per: str
    args: tuple[Arg, ...]
    help: str = ""


@dataclass(frozen=True)
class Layout:
    name: str
    help: str
    messages: tuple[Message, ...]
    port: int = 9000
    prefix: str = "/pose"
    coords: str = "normalized"
    keyed: str = "slot"  # "slot" (address_by applies) or "index" (0..count-1, fixed)

    @property
    def can_omit(self) -> bool:
        """Whether ``below = "omit"`` can leave keypoints out (only one-keypoint messages)."""
        return any(m.per == "keypoint" for m in self.messages)

    def types(self, message: Message, people: int = 0) -> str:
        """The type tag string of ``message`` (``people`` expands ``poses``)."""
        out = []
        for a in message.args:
            if a.name == "keypoints":
                out.append("fff" * len(KEYPOINT_NAMES))
            elif a.name == "poses":
                out.append(("f" + "fff" * len(KEYPOINT_NAMES)) * people)
            else:
                out.append(a.type)
        return "".join(out)


KEYPOINTS = Arg("keypoints", "*", "17 × (x f, y f, score f)")
FRAME = Message(
    "{prefix}/frame",
    "frame",
    (
        Arg("index", "i", "0, 1, 2… (gaps: frames dropped as stale)"),
        Arg("people", "i", "people in the frame"),
        Arg("fps", "f", "frames per second (smoothed)"),
        Arg("latency_ms", "f", "capture → send, milliseconds"),
    ),
    "the frame: its index, how many people, the frame rate and the capture-to-send latency",
)
PRESENT = Message(
    "{prefix}/{key}/present",
    "slot",
    (Arg("present", "i", "1 present, 0 empty"),),
    "1 while the slot is held by a person, 0 when it is empty",
)
ENTER = Message(
    "{prefix}/{key}/enter", "enter", (Arg("id", "i", "the person's id (never reused)"),),
    "a person entered and took this slot",
)  # fmt: skip
LEAVE = Message(
    "{prefix}/{key}/leave", "leave", (Arg("id", "i", "the person's id"),),
    "the person holding this slot left (present turns 0 in the same bundle)",
)  # fmt: skip
HEALTH = (
    Message(
        "{prefix}/health/inference_ms", "health", (Arg("inference_ms", "f", "milliseconds"),),
        "the model's time for this frame",
    ),
    Message(
        "{prefix}/health/dropped", "health", (Arg("dropped", "i", "frames so far"),),
        "frames dropped as stale since the stage started",
    ),
    Message(
        "{prefix}/health/device", "health", (Arg("device", "s", '"cpu", "edgetpu:usb:0", ""'),),
        "where the model runs (empty on a replay)",
    ),
)  # fmt: skip
FLOOR = Message(
    "{prefix}/{key}/floor", "floor",
    (
        Arg("floor_x", "f", "metres on the floor (the calibration's axes)"),
        Arg("floor_y", "f", "metres"),
        Arg("floor_score", "f", "0..1 (lower when guessed from the hips; 0 while not seen)"),
    ),
    "where the person stands on the floor, in metres (scenes with a calibrated [room])",
)  # fmt: skip
ZONES = (
    Message(
        "/zone/{zone}/count", "zone",
        (Arg("count", "i", "people in the zone now"), Arg("visits", "i", "visits so far")),
        "every frame, per zone of [room.zones]: its occupancy and visits since the start",
    ),
    Message(
        "/zone/{zone}/enter", "zone enter",
        (Arg("id", "i", "the person's id"), Arg("slot", "i", "their slot")),
        "someone came into the zone",
    ),
    Message(
        "/zone/{zone}/leave", "zone leave",
        (Arg("id", "i", "the person's id"), Arg("slot", "i", "their slot"),
         Arg("dwell", "f", "seconds they were in it")),
        "someone went out of the zone (or out of the stage)",
    ),
)  # fmt: skip
COMMON = (FRAME, PRESENT, ENTER, LEAVE, *HEALTH, FLOOR, *ZONES)

LAYOUTS: dict[str, Layout] = {
    layout.name: layout
    for layout in (
        Layout(
            "values",
            "one number per address: what TouchDesigner's OSC In CHOP turns into channels",
            (
                *COMMON,
                Message("{prefix}/{key}/{keypoint}/x", "keypoint", (Arg("x", "f", X_RANGE),)),
                Message("{prefix}/{key}/{keypoint}/y", "keypoint", (Arg("y", "f", Y_RANGE),)),
                Message(
                    "{prefix}/{key}/{keypoint}/score", "keypoint",
                    (Arg("score", "f", SCORE_RANGE),),
                ),
            ),
        ),
        Layout(
            "keypoints",
            "one message per keypoint with x, y and score (OSC In DAT, Max, Pd)",
            (
                *COMMON,
                Message(
                    "{prefix}/{key}/{keypoint}", "keypoint",
                    (Arg("x", "f", X_RANGE), Arg("y", "f", Y_RANGE), Arg("score", "f", SCORE_RANGE)),
                ),
            ),
        ),
        Layout(
            "person",
            "one message per person, its 17 keypoints as one flat list (Max route, Pd list, "
            "Processing)",
            (
                *COMMON,
                Message(
                    "{prefix}/{key}", "person",
                    (Arg("id", "i", "the person's id"), Arg("score", "f", "0..1"), KEYPOINTS),
                    "id, pose score, then x y score for each keypoint",
                ),
            ),
        ),
        Layout(
            "poseosc",
            "PoseOSC's ARR format: every person in one message, pixels (patches written for "
            "PoseOSC work unchanged)",
            (
                Message(
                    "/poses/arr", "frame",
                    (
                        Arg("width", "i", "pixels"), Arg("height", "i", "pixels"),
                        Arg("count", "i", "people"),
                        Arg("poses", "*", "count × (score f, 17 × (x f, y f, score f))"),
                    ),
                    "width, height, count, then per person (slot order) score and keypoints",
                ),
                *COMMON,
            ),
            port=9527,
            prefix="/posestage",
            coords="pixels",
        ),
        Layout(
            "poseosc-addr",
            "PoseOSC's ADDR format: one address per value, people numbered 0…count-1",
            (
                Message("/videoWidth", "frame", (Arg("width", "i", "pixels"),)),
                Message("/videoHeight", "frame", (Arg("height", "i", "pixels"),)),
                Message("/nPoses", "frame", (Arg("count", "i", "people"),)),
                Message("/poses/{index}/score", "person", (Arg("score", "f", "0..1"),)),
                Message(
                    "/poses/{index}/keypoints/{part}/position", "keypoint",
                    (Arg("x", "f", X_RANGE), Arg("y", "f", Y_RANGE)),
                ),
                Message(
                    "/poses/{index}/keypoints/{part}/score", "keypoint",
                    (Arg("score", "f", SCORE_RANGE),),
                ),
                *COMMON,
            ),
            port=9527,
            prefix="/posestage",
            coords="pixels",
            keyed="index",
        ),
    )
}  # fmt: skip
