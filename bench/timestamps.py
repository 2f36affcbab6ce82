"""How far the frames' time stamps (the OSC bundles' time tags) are from this machine's wall
clock when plugins get them, for files played at ``--pace fast``.

Run: ``python bench/timestamps.py [--frames 3000]``. Plays, headless at fast pace, (1) the demo
replay looped to ``--frames`` frames (no model) and (2) a 10 s 320x240 video written here, through
``posenet-353x481``. For each, prints the largest lead (stamp ahead of the wall clock at the
``posestage_frame`` hook; it should be 0: a capture time is never in the future) and the median
age (wall clock at the hook minus the stamp). Prints, never asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, uninstalled
SHARED = Path(os.environ.get("POSESTAGE_SHARED", ROOT.parent / "shared"))
os.environ.setdefault("POSESTAGE_MODELS_PATH", str(SHARED / "models"))

from posestage.config.scenes import parse_scene  # noqa: E402
from posestage.hookspecs import hookimpl  # noqa: E402
from posestage.host import PluginHost  # noqa: E402
from posestage.sources import SourceOptions, open_source  # noqa: E402
from posestage.stage import Stage, StageOptions  # noqa: E402


class Clock:
    """Stamp minus wall clock, at the frame hook."""

    def __init__(self) -> None:
        self.leads: list[float] = []

    @hookimpl
    def posestage_frame(self, frame):
        self.leads.append(frame.timestamp - time.time())


def play(spec: str, frames: int, model: str, loop: bool) -> Clock:
    clock, host = Clock(), PluginHost()
    host.register(clock, "clock")
    scene = parse_scene(f'[stage]\nmodel = "{model}"\n[plugins.clock]\n', None, host)
    source = open_source(spec, SourceOptions(pace="fast", loop=loop))
    options = StageOptions(headless=True, frames=frames, pace="fast")
    try:
        Stage([scene], options, host=host, source=source).run()
    finally:
        source.close()
    return clock


def write_video(path: Path, seconds: float = 10.0, fps: int = 30) -> None:
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(int(seconds * fps)):
            image = np.zeros((240, 320, 3), np.uint8)
            image[:, (i * 3) % 320 :][:, :20] = 255
            out.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        out.mux(stream.encode())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--frames", type=int, default=3000)
    args = p.parse_args()
    demo = ROOT / "scenes" / "demo.jsonl"
    with tempfile.TemporaryDirectory() as tmp:
        video = Path(tmp) / "clip.mp4"
        write_video(video)
        runs = [
            (f"replay, {args.frames} frames", f"replay:{demo}", args.frames, True),
            ("video, 10 s", str(video), None, False),
        ]
        print(f"{'source':<24} {'frames':>6} {'max lead s':>11} {'median age ms':>14}")
        for label, spec, frames, loop in runs:
            clock = play(spec, frames, "posenet-353x481", loop)
            lead = max(clock.leads)
            age = statistics.median(-x for x in clock.leads) * 1000
            print(f"{label:<24} {len(clock.leads):>6} {lead:>11.3f} {age:>14.1f}")


if __name__ == "__main__":
    main()
