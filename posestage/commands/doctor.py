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
import contextlib
import glob
import importlib
import importlib.util
import io
import os
import platform
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

OK, MISSING, INFO = "ok", "missing", "-"


@dataclass(frozen=True)
class Check:
    """One line of the report: what was probed, how it went, what it found, the fix."""

    name: str
    status: str  # ok, missing or "-" (nothing wrong, nothing needed)
    detail: str
    fix: str = ""
    essential: bool = False  # missing → no poses at all on this machine


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
    _SOUND["play"] = not getattr(args, "no_sound", False)
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


@contextlib.contextmanager
def native_output_hidden() -> Iterator[None]:
    """Silence what native libraries (ALSA, JACK, rtmidi) print to fd 2 while probing."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def version_of(distribution: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


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
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")  # no banner on this screen
    from posestage.sources import list_cameras

    with native_output_hidden():
        cameras = list_cameras()
    if cameras:
        named = ", ".join(f"camera:{i} {name}" for i, name in enumerate(cameras))
        return [Check("cameras", OK, named)]
    return [
        Check(
            "cameras",
            MISSING,
            "none found",
            "plug in a camera (Linux: it appears as /dev/video*; add yourself to the video "
            "group); video files, stills and replays work without one",
        )
    ]


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


def probe_synth() -> list[Check]:
    if not has_module("fluidsynth"):
        return [
            Check(
                "fluidsynth",
                MISSING,
                "pyfluidsynth not installed",
                "apt install libfluidsynth3 && pip install pyfluidsynth",
            )
        ]
    try:
        # pyfluidsynth prints where it found the library to stdout when CI is set
        with native_output_hidden(), contextlib.redirect_stdout(io.StringIO()):
            importlib.import_module("fluidsynth")
    except (ImportError, OSError) as err:
        return [
            Check(
                "fluidsynth",
                MISSING,
                f"pyfluidsynth cannot load the library ({str(err).strip()[:60]})",
                "apt install libfluidsynth3",
            )
        ]
    return [Check("fluidsynth", OK, f"pyfluidsynth {version_of('pyfluidsynth') or '?'}")]


SOUNDFONT_GLOBS = (
    "/usr/share/sounds/sf2/*.sf2",
    "/usr/share/soundfonts/*.sf2",
    "/usr/local/share/soundfonts/*.sf2",
    "~/.local/share/soundfonts/*.sf2",
    "/opt/homebrew/share/soundfonts/*.sf2",
)


def probe_soundfont() -> list[Check]:
    found = sorted({p for g in SOUNDFONT_GLOBS for p in glob.glob(os.path.expanduser(g))})
    if found:
        shown = ", ".join(found[:3]) + (f" (+{len(found) - 3})" if len(found) > 3 else "")
        return [Check("soundfont", OK, shown)]
    return [Check("soundfont", MISSING, "no .sf2 found", "apt install fluid-soundfont-gm")]


def jack_answers() -> bool:
    """A JACK server answers (the synth plugin's probe, which never starts one); without the
    plugin, JACK's files in /dev/shm (which a crashed server leaves behind)."""
    if has_module("posestage_synth"):
        with native_output_hidden():
            return importlib.import_module("posestage_synth.route").jack_answers()
    return bool(glob.glob(f"/dev/shm/jack-{os.getuid()}/*") or glob.glob("/dev/shm/jack_sem.*"))


def audio_servers() -> list[str]:
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.getuid()}"
    found = []
    if jack_answers():
        found.append("JACK")
    if os.path.exists(os.path.join(runtime, "pipewire-0")):
        found.append("PipeWire")
    if os.path.exists(os.path.join(runtime, "pulse", "native")):
        found.append("PulseAudio")
    try:
        cards = Path("/proc/asound/cards").read_text()
        if cards.strip() and "no soundcards" not in cards:
            found.append("ALSA")
    except OSError:
        pass
    if platform.system() == "Darwin":
        found.append("CoreAudio")
    return found


def probe_audio() -> list[Check]:
    if not hasattr(os, "getuid"):  # Windows: its own drivers
        return [Check("audio", INFO, "not probed on this system")]
    found = audio_servers()
    if found:
        return [Check("audio", OK, "drivers: " + ", ".join(found))]
    return [
        Check(
            "audio",
            MISSING,
            "no sound card, JACK, PipeWire or PulseAudio",
            "start one (e.g. jackd -d dummy &, or a desktop session's PipeWire); synth plugins "
            "stay silent meanwhile",
        )
    ]


#: How long ``doctor``'s test note sounds (seconds); ``--no-sound`` skips it.
NOTE_SECONDS = 0.4
_SOUND = {"play": True}


def probe_sound() -> list[Check]:
    """A short note through the synth plugin's own route (``driver = "auto"``): which audio
    server it chose, and whether the note reached an output (JACK playback ports, a PulseAudio
    or PipeWire sink); the plugin's code, so doctor and the show cannot disagree."""
    if not _SOUND["play"]:
        return [Check("sound", INFO, "not played (--no-sound)")]
    if not has_module("posestage_synth"):
        return [Check("sound", INFO, "the synth plugin is not installed (pip install "
                      "./plugins/synth): no note played")]  # fmt: skip
    import time

    from posestage.errors import PosestageError

    with native_output_hidden(), contextlib.redirect_stdout(io.StringIO()):
        synth = importlib.import_module("posestage_synth")
        try:
            port = synth.FluidPort(synth.find_soundfont(), "auto", gain=0.3)
        except PosestageError as err:
            text = str(err).removeprefix("synth: ")
            what, _, fix = text.partition("; ")
            return [Check("sound", MISSING, what, fix or "see docs/synth.md")]
    route = f"{port.route.server} ({port.route.why})"
    try:
        port.synth.program_select(0, port.sfid, 0, 0)
        port.synth.noteon(0, 69, 90)  # A4 on a piano
        time.sleep(NOTE_SECONDS)
        reached = port.outputs()
        port.synth.noteoff(0, 69)
    finally:
        with native_output_hidden():
            port.close()
    if reached is None:
        return [Check("sound", OK, f"{route}: a note played on driver {port.driver} "
                      "(the device opened; your ears tell the rest)")]  # fmt: skip
    if reached:
        return [Check("sound", OK, f"{route}: a note reached {', '.join(reached)}")]
    return [
        Check(
            "sound",
            MISSING,
            f"{route}: a note played but reached no output",
            "connect posestage-synth's ports to the playback ports (qjackctl, jack_connect)"
            if port.driver == "jack"
            else "choose an output device for FluidSynth in your sound settings (pavucontrol)",
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
