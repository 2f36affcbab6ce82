"""The opener registry: :func:`open_source` turns a ``--source`` spec into a :class:`Source`,
built-in kinds first, then the schemes plugins registered (``posestage_sources()``)."""

from __future__ import annotations

import glob as globlib
import os
import re
from pathlib import Path

from posestage.errors import PosestageError, SourceError, describe_error
from posestage.sources.base import VALID_FORMS, Opener, Source, SourceOptions
from posestage.sources.camera import open_camera
from posestage.sources.ndi import open_ndi
from posestage.sources.replay import ReplaySource
from posestage.sources.stills import IMAGE_SUFFIXES, StillsSource, natural_key, stills_in
from posestage.sources.stream import NETWORK_SCHEMES, open_stream
from posestage.sources.video import VideoSource

#: File extensions read as pose streams even without ``replay:``.
POSESTREAM_SUFFIXES = frozenset({".jsonl"})
#: The schemes built in; plugins cannot replace them.
BUILTIN_SCHEMES = ("camera", "replay", "ndi")


def _has_glob(spec: str) -> bool:
    return any(c in spec for c in "*?[")


def open_source(
    spec: str, options: SourceOptions | None = None, extra: dict[str, Opener] | None = None
) -> Source:
    """Open ``spec`` (see the module docstring) with ``options``.

    ``extra`` maps schemes registered by plugins (``posestage_sources()``) to openers, called
    as ``opener(spec, options)`` with the whole spec; built-in schemes cannot be replaced.
    """
    options = options or SourceOptions()
    extra = extra or {}
    spec = (spec or "").strip()
    if not spec:
        raise SourceError(f"--source is empty; use {VALID_FORMS}")
    scheme, sep, arg = spec.partition(":")
    if scheme == "camera":
        return open_camera(arg if sep else None, options)
    if scheme.lower() in NETWORK_SCHEMES and arg.startswith("//"):
        return open_stream(spec, options)
    if scheme == "ndi" and sep:
        return open_ndi(spec, options)
    if scheme == "replay" and sep:
        if not arg:
            raise SourceError("--source replay: needs a file, e.g. replay:scenes/demo.jsonl")
        return ReplaySource(Path(arg).expanduser(), options)
    if sep and scheme in extra:
        return _open_extra(spec, scheme, extra[scheme], options)

    path = Path(spec).expanduser()
    if path.is_dir():
        paths = stills_in(path)
        if not paths:
            raise SourceError(
                f"--source {spec}: no images in this folder "
                f"(looked for {', '.join(sorted(IMAGE_SUFFIXES))})"
            )
        return StillsSource(paths, options, f"stills:{path.name or spec} ({len(paths)})")
    if path.is_file():
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            return StillsSource([path], options, f"still:{path.name}")
        if suffix in POSESTREAM_SUFFIXES:
            return ReplaySource(path, options)
        return VideoSource(path, options)
    if _has_glob(spec):
        matches = [Path(p) for p in globlib.glob(os.path.expanduser(spec), recursive=True)]
        paths = sorted(
            (p for p in matches if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES),
            key=natural_key,
        )
        if not paths:
            raise SourceError(f"--source {spec}: the pattern matches no image files")
        return StillsSource(paths, options, f"stills:{spec} ({len(paths)})")
    if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]+", scheme):
        known = [*BUILTIN_SCHEMES, *sorted(extra)]
        raise SourceError(
            f"--source {spec}: unknown source type {scheme!r} (known: {', '.join(known)}); "
            f"valid forms: {VALID_FORMS}"
        )
    raise SourceError(f"--source {spec}: no such file or folder; valid forms: {VALID_FORMS}")


def _open_extra(spec: str, scheme: str, opener: Opener, options: SourceOptions) -> Source:
    try:
        source = opener(spec, options)
    except PosestageError:
        raise
    except Exception as err:
        raise SourceError(
            f"--source {spec}: the plugin source {scheme!r} failed: {describe_error(err)}"
        ) from None
    if not isinstance(source, Source) and not callable(getattr(source, "read", None)):
        raise SourceError(f"--source {spec}: the plugin source {scheme!r} returned no source")
    return source
