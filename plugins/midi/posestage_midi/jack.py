"""A JACK server for MIDI without a sound card (tests, CI, a laptop with no ALSA sequencer).

``jackd -d dummy`` (Debian ``jackd2``) runs JACK on a timer instead of an audio interface;
python-rtmidi's JACK API then gives real virtual MIDI ports that other JACK clients connect to.
:func:`jack_running` tells whether a server answers; :class:`JackServer` starts a private one
(its own name through ``JACK_DEFAULT_SERVER``, so it never clashes with the user's) and stops it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass


def jack_running() -> bool:
    """True when a JACK server answers under the current ``JACK_DEFAULT_SERVER`` (or default)."""
    os.environ.setdefault("JACK_NO_START_SERVER", "1")
    try:
        import rtmidi

        probe = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, "posestage-probe")
    except Exception:  # noqa: BLE001 - no JACK, no rtmidi: not running as far as we can tell
        return False
    try:
        probe.get_ports()
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        probe.delete()


@dataclass
class JackServer:
    """``jackd -d dummy`` under a private server name; :meth:`stop` ends it (and only it)."""

    name: str
    rate: int = 48000
    period: int = 256
    process: subprocess.Popen | None = None
    _output: object = None
    _previous: str | None = None

    @staticmethod
    def available() -> str | None:
        """The jackd executable, or None."""
        return shutil.which("jackd")

    def start(self, timeout: float = 15.0) -> None:
        """Start the server and point this process at it (``JACK_DEFAULT_SERVER``).

        Realtime scheduling first, as JACK runs on a stage: its clients' process threads (the
        ports' own) then keep their periods on a loaded machine, where a starved period can
        drop MIDI. Where realtime is refused, the same server without it."""
        try:
            self._start(["--realtime"], timeout)
        except RuntimeError:
            self._start(["--no-realtime"], timeout)

    def _start(self, mode: list[str], timeout: float) -> None:
        jackd = self.available()
        if jackd is None:
            raise RuntimeError("jackd is not installed (Debian/Ubuntu: apt install jackd2)")
        env = dict(os.environ, JACK_DEFAULT_SERVER=self.name, JACK_NO_AUDIO_RESERVATION="1")
        self._output = tempfile.TemporaryFile("w+")  # a pipe could fill up and stall jackd
        driver = ["-d", "dummy", "-r", str(self.rate), "-p", str(self.period)]
        self.process = subprocess.Popen(
            [jackd, *mode, *driver],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self._output,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if os.environ.get("JACK_DEFAULT_SERVER") != self.name:  # not a restart after kill()
            self._previous = os.environ.get("JACK_DEFAULT_SERVER")
        os.environ["JACK_DEFAULT_SERVER"] = self.name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._output.seek(0)
                out = " ".join(self._output.read().split())
                self._output.close()
                self._output = None
                self._restore()
                raise RuntimeError(
                    f"jackd exited with status {self.process.returncode}: {out[-300:]}"
                )
            if jack_running():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"jackd did not answer within {timeout:g} s")

    def kill(self) -> None:
        """The server dies without a word (SIGKILL, as a crash would end it); this process
        stays pointed at its name, so :meth:`start` brings the same server back. Do start it
        again (then :meth:`stop`): a server that did not stop cleanly keeps its entry in JACK's
        machine-wide registry (eight servers at most) until one of its name stops cleanly."""
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(5)
        if self._output is not None:
            self._output.close()
            self._output = None

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        if self._output is not None:
            self._output.close()
            self._output = None
        self._restore()

    def _restore(self) -> None:
        if os.environ.get("JACK_DEFAULT_SERVER") == self.name:
            if self._previous is None:
                del os.environ["JACK_DEFAULT_SERVER"]
            else:
                os.environ["JACK_DEFAULT_SERVER"] = self._previous


def all_notes_off(*channels: int) -> Callable[[list[list[int]]], bool]:
    """For :meth:`Listener.take`'s ``until``: All Notes Off (CC 123) came on every one of
    ``channels`` (0-based) — how the midi and synth plugins end, on every exit path."""
    wanted = set(channels)

    def seen(messages: list[list[int]]) -> bool:
        done = {m[0] & 15 for m in messages if m[0] & 0xF0 == 0xB0 and m[1:2] == [123]}
        return wanted <= done

    return seen


class Listener:
    """A JACK MIDI input connected to an output port (by part of its name): what a DAW hears.
    With ``virtual=True`` it is a port of its own, ``<port>:in``, that a plugin opens by name.

    :meth:`take` returns the messages received (lists of ints): it waits for the first one,
    then until the port has been quiet for a while (JACK delivers once per period).
    """

    def __init__(
        self,
        port: str,
        client: str = "posestage-listener",
        timeout: float = 5.0,
        *,
        virtual: bool = False,
    ):
        import rtmidi

        self.port = port
        self._in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, port if virtual else client)
        self._in.ignore_types(sysex=False, timing=True, active_sense=True)
        if virtual:  # an input port of our own, "<port>:in", for a plugin to open by name
            self._in.open_virtual_port("in")
            return
        deadline = time.monotonic() + timeout
        while True:
            names = self._in.get_ports()
            hits = [i for i, n in enumerate(names) if port in n and not n.startswith(client)]
            if hits:
                break
            if time.monotonic() > deadline:
                self._in.delete()
                raise RuntimeError(f"no JACK MIDI output {port!r}; there are {names}")
            time.sleep(0.02)
        self._in.open_port(hits[0])
        time.sleep(0.05)  # the connection takes effect on the next JACK period

    def take(
        self, quiet: float = 0.3, timeout: float = 10.0, until: Callable | None = None
    ) -> list[list[int]]:
        """Wait for the first message (up to ``timeout``), then collect until the port has
        been quiet for ``quiet`` seconds. On a loaded machine JACK periods run late, so the
        first message may take a while; a burst arrives together. With ``until`` (a test of
        the messages so far) collect until it holds instead — a JACK period that runs late
        mid-stream is then no end — or ``timeout``."""
        out: list[list[int]] = []
        start = time.monotonic()
        last: float | None = None
        while True:
            message = self._in.get_message()
            now = time.monotonic()
            if message is not None:
                out.append(list(message[0]))
                last = now
                if until is not None and until(out):
                    return out
                continue
            quiet_now = until is None and last is not None and now - last >= quiet
            if quiet_now or now - start >= timeout:
                return out
            time.sleep(0.005)

    def close(self) -> None:
        self._in.close_port()
        self._in.delete()

    def abandon(self) -> None:
        """Its JACK server died: never touch its client again (see ``MidiOut.abandon``)."""
        from posestage_midi.ports import keep_forever

        keep_forever(self._in)
        keep_forever(self)

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
