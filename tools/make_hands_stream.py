"""Make the hands pose stream: three stick figures playing with their arms, for the synth and
MIDI scenes without a camera.

Run: ``python tools/make_hands_stream.py [--out scenes/hands.jsonl] [--frames 180] [--fps 15]``.

The demo stream (``scenes/demo.jsonl``) has real people, but they keep their hands down, so a
synth plays nothing on it. Here three figures (``posestage.model.synthetic``) stand side by side and
move their arms: the right forearm rises above the elbow in phrases (the synth plays, the
wrist's height walks up and down the scale), now and then a wrist goes above the head (a MIDI
note), the left arm sweeps slowly (volume, a CC). The second figure leaves half-way and comes
back, so voices are freed and taken. Deterministic: the same file on every run.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled

from posestage.model.keypoints import KEYPOINT_INDEX  # noqa: E402
from posestage.model.posestream import PoseStreamWriter, StreamFrame, StreamHeader, StreamPerson  # noqa: E402
from posestage.model.synthetic import standing_xy  # noqa: E402

W, H = 640, 480
START_TIME = 1_700_000_000.0
UPPER, FORE = 0.15, 0.14  # arm segment lengths, in body heights
K = KEYPOINT_INDEX


def arm(xy: np.ndarray, side: str, raise_: float, bend: float, height: float) -> None:
    """Put one arm's elbow and wrist: ``raise_`` is the upper arm's angle from hanging down
    (0) to straight up (pi), ``bend`` the elbow's extra angle; out to the figure's side."""
    shoulder = xy[K[f"{side}_shoulder"]]
    out = 1.0 if side == "left" else -1.0  # their left is the image's right
    elbow = shoulder + height * UPPER * np.array([out * math.sin(raise_), math.cos(raise_)])
    b = raise_ + bend
    wrist = elbow + height * FORE * np.array([out * math.sin(b), math.cos(b)])
    xy[K[f"{side}_elbow"]] = elbow
    xy[K[f"{side}_wrist"]] = wrist


def figure(t: float, k: int, x: float) -> np.ndarray:
    """Figure ``k`` at time ``t`` (seconds), centred on ``x``."""
    height = 300.0 + 20.0 * k
    xy = standing_xy(x + 6.0 * math.sin(0.7 * t + k), 455.0, height).astype(np.float64)
    period = (3.2, 4.1, 2.7)[k]
    phase = (t / period + 0.3 * k) % 1.0
    if phase < 0.65:  # playing: upper arm out, forearm up, wrist height walking
        s = math.sin(math.pi * phase / 0.65)
        arm(xy, "right", 1.1 + 1.5 * s * s, 1.2 - 1.0 * s, height)
    else:  # resting: hanging down
        arm(xy, "right", 0.15, 0.05, height)
    swing = 0.5 + 0.5 * math.sin(2 * math.pi * t / (7.0 + k))
    arm(xy, "left", 0.3 + 2.0 * swing, 0.4, height)
    return xy.astype(np.float32)


def make(out: Path, frames: int, fps: float) -> None:
    xs = (150.0, 330.0, 500.0)
    with PoseStreamWriter(out, StreamHeader(source="synthetic:hands", width=W, height=H,
                                            model="synthetic", start_time=START_TIME)) as w:  # fmt: skip
        for i in range(frames):
            t = i / fps
            present = [0, 2] + ([1] if not (0.45 < i / frames < 0.7) else [])
            people = []
            for slot, k in enumerate(sorted(present)):
                scores = np.full(17, 0.9, np.float32)
                people.append(StreamPerson(k + 1, slot, 0.9, figure(t, k, xs[k]), scores))
            w.write(StreamFrame(i, START_TIME + t, W, H, people))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "scenes" / "hands.jsonl")
    parser.add_argument("--frames", type=int, default=180)
    parser.add_argument("--fps", type=float, default=15.0)
    args = parser.parse_args(argv)
    if args.out.exists():
        args.out.unlink()  # the writer never overwrites
    make(args.out, args.frames, args.fps)
    print(f"wrote {args.out} ({args.frames} frames)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
