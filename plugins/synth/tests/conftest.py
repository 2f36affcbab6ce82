"""Fixtures for the synth plugin's tests: a real JACK server (``jackd -d dummy``) for ports."""

from posestage_midi.fixtures import jack  # noqa: F401 - the fixture, for pytest
