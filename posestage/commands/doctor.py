"""``posestage doctor``: one screen that tells a performer what this machine can do.

Each line is one small probe (:data:`PROBES`): Python, the TFLite runtime and its version, the
inference threads, the Edge TPU delegate and devices, the decoder kernel, the models
(downloaded, checksums), cameras, and what the sound and MIDI plugins need — MIDI backends and
ports, FluidSynth, a soundfont, audio servers — and a short note played through the route the
synth plugin takes (``--no-sound``: none), said reached or not. Optional modules (mido, rtmidi, fluidsynth) are
probed, never required. Anything missing comes with its one-line fix. A probe that fails
reports its error on its own line; the others still run. Exit status 0 when poses can be
detected here (a runtime and a model), else 1.
"""

from __future__ import annotations

import argparse
import glob
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path

from posestage.commands.probing import (
    INFO,
    MISSING,
    OK,
    Check,
    has_module,
    native_output_hidden,
    version_of,
)
from posestage.commands.sound_probes import (
    SOUND,
    probe_audio,
    probe_sound,
    probe_soundfont,
    probe_synth,
)


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "doctor",
        help="what this machine can do: runtime, Edge TPU, decoder, models, cameras, audio, MIDI",
        description="Probe this machine: runtime, Edge TPU, decoder kernel, threads, models, "
        "cameras, MIDI and audio; each missing piece with its one-line fix.",
    )
    p.add_argument("--no-sound", action="store_true", help="do not play the short test note")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    SOUND["play"] = not getattr(args, "no_sound", False)
    checks = [check for probe in PROBES for check in safely(probe)]
    width = max(len(c.name) for c in checks)
    print("posestage doctor")
    for c in checks:
        print(f"  {c.status:<8} {c.name:<{width}}  {c.detail}")
        if c.fix and c.status != OK:
            print(f"  {'':<8} {'':<{width}}  fix: {c.fix}")
    broken = [c.name for c in checks if c.essential and c.status == MISSING]
    if broken:
        print(f"poses cannot be detected here until {', '.join(broken)} is fixed")
    return 1 if broken else 0


def safely(probe: Callable[[], list[Check]]) -> list[Check]:
    name = probe.__name__.removeprefix("probe_").replace("_", " ")
    try:
        return probe()
    except Exception as err:  # noqa: BLE001 - one broken probe must not hide the others
        text = str(err).strip().splitlines()
        return [Check(name, MISSING, f"probe failed: {text[0] if text else type(err).__name__}")]


# -- the probes, in screen order -------------------------------------------------------------


def probe_python() -> list[Check]:
    return [Check("python", OK, f"{platform.python_version()} ({sys.executable})")]


def probe_runtime() -> list[Check]:
    from posestage.engine.interpreter import get_runtime
    from posestage.errors import PosestageError

    try:
        runtime = get_runtime()
    except PosestageError:
        return [
            Check(
                "runtime",
                MISSING,
                "no TFLite runtime (ai-edge-litert or tflite_runtime)",
                "pip install ai-edge-litert (on Coral boards: the tflite_runtime package)",
                essential=True,
            )
        ]
    distribution = {"ai-edge-litert": "ai-edge-litert", "tflite_runtime": "tflite-runtime"}
    version = version_of(distribution.get(runtime.name, runtime.name)) or "version unknown"
    return [Check("runtime", OK, f"{runtime.name} {version}")]


def probe_threads() -> list[Check]:
    from posestage.engine.pose_engine import default_num_threads

    return [
        Check(
            "threads",
            OK,
            f"{default_num_threads()} inference threads by default ({os.cpu_count()} cores; "
            f"--num-threads N to change)",
        )
    ]


def edge_tpu_devices() -> list[str]:
    """Edge TPUs seen by the OS: USB (Global Unichip 1a6e:089a before its firmware is loaded,
    Google 18d1:9302 after) and PCIe / M.2 (``/dev/apex_N``)."""
    found = []
    for device in sorted(glob.glob("/sys/bus/usb/devices/*")):
        try:
            ids = (Path(device, "idVendor").read_text().strip(),
                   Path(device, "idProduct").read_text().strip())  # fmt: skip
        except OSError:
            continue
        if ids in (("1a6e", "089a"), ("18d1", "9302")):
            found.append(f"usb ({Path(device).name})")
    found += [f"pci ({Path(p).name})" for p in sorted(glob.glob("/dev/apex_*"))]
    return found


def probe_edge_tpu() -> list[Check]:
    import ctypes

    from posestage.engine.interpreter import delegate_library, list_edge_tpus

    library = delegate_library()
    devices = list_edge_tpus() or edge_tpu_devices()
    seen = f"devices: {', '.join(devices)}" if devices else "no device attached"
    try:
        ctypes.CDLL(library)
    except OSError:
        return [
            Check(
                "edge tpu",
                MISSING,
                f"delegate {library} not found; {seen}",
                "install libedgetpu (coral.ai/software: apt install libedgetpu1-std); "
                "posestage runs on the CPU meanwhile",
            )
        ]
    if not devices:
        return [
            Check(
                "edge tpu",
                MISSING,
                f"delegate {library} found; {seen}",
                "plug in the Coral USB Accelerator (USB 3 port) or check the PCIe driver",
            )
        ]
    return [Check("edge tpu", OK, f"delegate {library}; {seen}")]


def probe_decoder() -> list[Check]:
    from posestage.engine.decoding import KERNEL_ENV, available_kernels, kernel_in_use

    chosen = kernel_in_use()
    built = "c" in available_kernels()
    detail = {
        "c": "c (compiled posestage.engine._kernels)",
        "numpy": "numpy" + (f" (chosen by {KERNEL_ENV})" if built else " (C kernels not built)"),
    }[chosen]
    if built:
        return [Check("decoder", OK, detail)]
    return [
        Check(
            "decoder",
            MISSING,
            detail,
            "install a C compiler and Python's headers (apt install gcc python3-dev), then "
            "reinstall posestage (pip install --force-reinstall --no-deps .)",
        )
    ]


def probe_models() -> list[Check]:
    from posestage.engine.catalogue import cache_dir, load_catalogue, verify

    results = verify()
    present = [r for r in results if r.status != "missing"]
    bad = [r for r in results if r.status == "mismatch"]
    usable = sorted({r.model for r in present if r.status == "ok"})
    total = len(load_catalogue())
    detail = f"{len(usable)} of {total} models, {len(present)} of {len(results)} files"
    if usable:
        named = ", ".join(usable[:3]) + (f", +{len(usable) - 3}" if len(usable) > 3 else "")
        detail += f" ({named})"
    checks = []
    if bad:
        checks.append(
            Check(
                "models",
                MISSING,
                f"checksum wrong: {', '.join(str(r.path) for r in bad)}",
                f"delete them and run `posestage models fetch {bad[0].model}`",
            )
        )
    if not usable:
        checks.append(
            Check(
                "models",
                MISSING,
                detail,
                f"posestage models fetch posenet-481x641 (into {cache_dir()})",
                essential=True,
            )
        )
    else:
        checks.append(Check("models", OK, detail.replace(" files", " files verified", 1)))
    return checks


def probe_cameras() -> list[Check]:
    """The cameras (``posestage cameras`` shows their modes) and NDI in."""
    from posestage.commands.cameras import inventory
    from posestage.sources.ndi import INSTALL

    with native_output_hidden():
        found = inventory(ndi_seconds=1.0)
    checks = []
    cameras = found["cameras"]
    if cameras:
        named = ", ".join(
            f"{c['source']} {c['name']}"
            + (f" (up to {c['lines'][0].split()[0]})" if c["lines"] else "")
            for c in cameras
        )
        checks.append(Check("cameras", OK, f"{named}; modes: posestage cameras"))
    else:
        checks.append(
            Check(
                "cameras",
                MISSING,
                f"none found ({found['driver']})",
                "plug in a camera (Linux: it appears as /dev/video*; add yourself to the video "
                "group; macOS: allow your terminal in Privacy & Security → Camera); video files, "
                "stills, streams (rtsp://…) and replays work without one",
            )
        )
    if not found["ndi"]:
        checks.append(Check("ndi", INFO, f"not installed: optional, {INSTALL} for ndi:NAME"))
    else:
        sources = found["ndi_sources"]
        seen = ", ".join(f"ndi:{name}" for name in sources) or "no source seen in 1 s"
        checks.append(Check("ndi", OK, seen))
    return checks


def probe_midi() -> list[Check]:
    if not has_module("mido"):
        return [Check("midi", MISSING, "mido not installed", "pip install mido python-rtmidi")]
    if not has_module("rtmidi"):
        return [Check("midi", MISSING, "mido without a backend", "pip install python-rtmidi")]
    import rtmidi

    apis = {
        getattr(rtmidi, "API_LINUX_ALSA", -1): "ALSA",
        getattr(rtmidi, "API_UNIX_JACK", -2): "JACK",
        getattr(rtmidi, "API_MACOSX_CORE", -3): "CoreMIDI",
        getattr(rtmidi, "API_WINDOWS_MM", -4): "WinMM",
    }
    found, working = [], 0
    for api in rtmidi.get_compiled_api():
        try:
            with native_output_hidden():
                ports = rtmidi.MidiOut(rtapi=api).get_ports()
        except Exception:  # noqa: BLE001 - that backend's server is not running
            ports = None
        name = apis.get(api, str(api))
        working += ports is not None
        shown = "unavailable" if ports is None else ", ".join(ports) or "no ports"
        found.append(f"{name}: {shown}")
    detail = f"mido {version_of('mido') or '?'} with rtmidi; " + "; ".join(found)
    if working:
        return [Check("midi", OK, detail)]
    return [
        Check(
            "midi",
            MISSING,
            detail,
            "start JACK (jackd -d dummy &) or load ALSA's sequencer (sudo modprobe snd-seq)",
        )
    ]


PROBES: tuple[Callable[[], list[Check]], ...] = (
    probe_python,
    probe_runtime,
    probe_threads,
    probe_edge_tpu,
    probe_decoder,
    probe_models,
    probe_cameras,
    probe_midi,
    probe_synth,
    probe_soundfont,
    probe_audio,
    probe_sound,
)
