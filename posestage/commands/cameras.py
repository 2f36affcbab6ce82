"""``posestage cameras``: every camera with its name and the modes it offers (size, rates,
formats), and the NDI sources on the network — each with the ``--source`` that picks it.

    posestage cameras            # cameras and NDI sources
    posestage cameras --json     # the same, one JSON document
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "cameras",
        help="list cameras (name, sizes, rates, formats) and NDI sources, with their --source",
        description="List the cameras this machine sees, with the modes each offers (size x "
        "rate x format), and the NDI sources on the network; each with the --source that "
        "picks it.",
    )
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument(
        "--ndi-seconds",
        type=float,
        default=2.0,
        metavar="S",
        help="how long to look for NDI sources (default 2; 0: do not look)",
    )
    p.set_defaults(func=run)
    return p


def mode_lines(modes) -> list[str]:
    """One line per size, biggest first, rates per format: ``1280x720  mjpeg@30/60, yuyv422@10``."""
    from posestage.sources.devices import format_rank

    by_size: dict[tuple[int, int], dict[str, list[str]]] = {}
    for mode in sorted(modes, key=lambda m: (m.max_fps, m.min_fps)):
        rate = str(mode).split(" ", 1)[0].partition("@")[2]
        rates = by_size.setdefault(mode.size, {}).setdefault(mode.pixel_format, [])
        if rate and rate not in rates:
            rates.append(rate)
    lines = []
    for (w, h), formats in sorted(by_size.items(), key=lambda item: -item[0][0] * item[0][1]):
        offers = [
            f"{fmt}@{'/'.join(rates)}" if rates else fmt
            for fmt, rates in sorted(formats.items(), key=lambda item: format_rank(item[0]))
        ]
        lines.append(f"{w}x{h}".ljust(10) + "  " + ", ".join(offers))
    return lines


def inventory(ndi_seconds: float) -> dict:
    """What ``posestage cameras`` shows: the driver, its cameras, the NDI sources."""
    from posestage.sources.camera import find_cameras
    from posestage.sources.ndi import find_ndi_sources, ndi_available
    from posestage.sources.platforms import driver

    drv = driver()
    cameras = find_cameras(drv)
    found = {
        "driver": drv.label,
        "cameras": [
            {
                "source": f"camera:{i}",
                "name": c.name,
                "device": c.device,
                "modes": [
                    {
                        "width": m.width,
                        "height": m.height,
                        "format": m.pixel_format,
                        "min_fps": m.min_fps,
                        "max_fps": m.max_fps,
                    }
                    for m in c.modes
                ],  # fmt: skip
                "lines": mode_lines(c.modes),
            }
            for i, c in enumerate(cameras)
        ],
        "ndi": ndi_available(),
        "ndi_sources": find_ndi_sources(ndi_seconds) if ndi_seconds > 0 else [],
    }
    return found


def run(args: argparse.Namespace) -> int:
    from posestage.sources.ndi import INSTALL

    found = inventory(max(0.0, args.ndi_seconds))
    if args.json:
        for camera in found["cameras"]:
            camera.pop("lines")
        print(json.dumps(found, indent=2))
        return 0
    cameras = found["cameras"]
    print(f"cameras ({found['driver']}): {len(cameras) or 'none found'}")
    for camera in cameras:
        device = "" if camera["device"] == camera["name"] else f"  [{camera['device']}]"
        print(f"  --source {camera['source']:<10} {camera['name']}{device}")
        for line in camera["lines"] or ["modes not listed: opened at --res/--fps as asked"]:
            print(f"  {'':<20} {line}")
    if not cameras:
        print("  plug one in (Linux: /dev/video*, and be in the video group); or use a video, "
              "stills or --source replay:scenes/demo.jsonl")  # fmt: skip
    if not found["ndi"]:
        print(f"NDI: not installed ({INSTALL} for --source ndi:NAME)")
    elif args.ndi_seconds <= 0:
        print("NDI: not looked for (--ndi-seconds 0)")
    else:
        sources = found["ndi_sources"]
        print(f"NDI sources: {len(sources) or 'none seen'}")
        for name in sources:
            print(f"  --source 'ndi:{name}'")
    return 0
