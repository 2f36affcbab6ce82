"""pytest fixtures for tests that need real MIDI ports: a JACK server (``jackd -d dummy``).

Used by this plugin's tests and the synthesizer's; a third-party plugin's ``conftest.py`` can
use it too: ``from posestage_midi.fixtures import jack  # noqa: F401``. Importing this module
needs pytest (a test dependency, never the plugin's).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
os.environ.setdefault("JACK_NO_START_SERVER", "1")

from posestage_midi.jack import JackServer, jack_running  # noqa: E402


@pytest.fixture(scope="session")
def jack():
    """A JACK server to make MIDI ports on: the one running, else a private ``jackd -d dummy``.

    Without jackd the port tests are skipped — unless ``POSESTAGE_REQUIRE_JACK=1`` (CI), then
    they fail.
    """
    required = os.environ.get("POSESTAGE_REQUIRE_JACK") == "1"
    if jack_running():
        yield os.environ.get("JACK_DEFAULT_SERVER", "default")
        return
    if JackServer.available() is None:
        why = "jackd is not installed (apt install jackd2); MIDI port tests need a JACK server"
        if required:
            pytest.fail(f"POSESTAGE_REQUIRE_JACK=1 but {why}")
        pytest.skip(why)
    server = JackServer(f"posestage-test-{os.getpid()}")
    try:
        server.start()
    except RuntimeError as err:
        if required:
            pytest.fail(f"POSESTAGE_REQUIRE_JACK=1 but jackd would not start: {err}")
        pytest.skip(f"jackd would not start: {err}")
    try:
        yield server.name
    finally:
        server.stop()
