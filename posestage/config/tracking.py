"""How people are followed from frame to frame: the ``[tracking]`` settings, declared once.

Kept apart from :mod:`posestage.tracking.tracker` (which needs numpy and scipy) so that scene
validation and the command line can read the declaration without importing them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from posestage.config import vocabulary
from posestage.config.schema import Setting
from posestage.errors import SceneError


def _key(kind: type, default, help: str, parse=None, **bounds):
    """A :class:`TrackingSettings` field that also declares its ``[tracking]`` scene key."""
    return field(default=default, metadata={"key": (kind, help, parse, bounds)})


_POSITIVE = vocabulary.ranged("positive", "a number > 0", float, 0.0, above=True)
_HERTZ = vocabulary.ranged("hertz", "a frequency in Hz > 0, e.g. 1.0", float, 0.0, above=True)
_NON_NEGATIVE = vocabulary.ranged("non-negative", "a number >= 0", float, 0.0)


@dataclass
class TrackingSettings:
    """How people are followed from frame to frame (scene files: the ``[tracking]`` table).

    Each field declares its scene key once (:func:`tracking_schema` derives the ``[tracking]``
    schema from these fields); values are checked with the same rules on construction.

    - ``max_missing_seconds``: how long an id survives a dropout (a performer hidden behind
      another, a missed detection), in seconds of the frames' timestamps, so the same at any
      frame rate. 0 = leave at the first missed frame.
    - ``max_missing`` (deprecated): the old grace in frames; when set it replaces
      ``max_missing_seconds`` (a count of frames means a different time at each frame rate).
    - ``max_distance``: gate, in person sizes (diagonal of the box around the confident
      keypoints): a pose farther than this from a tracked person is never matched to them.
    - ``predict``: predict each person's position with their last velocity before matching.
    - ``smoothing``: One Euro keypoint smoothing on/off (``Person.raw_xy`` is always raw).
    - ``min_cutoff`` (Hz), ``beta``, ``d_cutoff`` (Hz): One Euro parameters. Positions are
      filtered in image heights, so ``beta`` is per (image height per second): at ``beta=10`` a
      keypoint moving one image height per second gets its cutoff raised by 10 Hz. Lower
      ``min_cutoff`` for less jitter at rest, raise ``beta`` for less lag in fast moves.
      With the defaults at 30 fps, keypoint jitter at rest keeps ~0.4 of its amplitude and a
      limb moving one image height per second lags ~10 ms (``beta=0``: ~160 ms).
    - ``min_pose_score``: poses scoring below this are ignored (neither matched nor new).
    - ``min_keypoint_score``: keypoints at or above it count as confident for matching.
    - ``edge_margin``: fraction of the image's width and height counted as its edge: someone
      last seen there, moving out, leaves at once rather than after the grace.
    - ``max_speed``: the fastest plausible walk, metres per second: when the stage's floor is
      calibrated, people are matched by where they stand, at most this far per second apart.
    """

    max_missing_seconds: float = _key(
        float, 1.0, "seconds an id survives a dropout", vocabulary.GRACE_SECONDS
    )
    max_missing: int | None = _key(
        int, None, "deprecated: a grace in frames; replaces max_missing_seconds", min=0
    )
    max_distance: float = _key(float, 0.5, "match gate, in person sizes", _POSITIVE)
    predict: bool = _key(bool, True, "predict positions with the last velocity before matching")
    smoothing: bool = _key(bool, True, "One Euro keypoint smoothing")
    min_cutoff: float = _key(
        float, 1.0, "One Euro minimum cutoff (Hz): lower = less jitter", _HERTZ
    )
    beta: float = _key(float, 10.0, "One Euro speed coefficient: higher = less lag", _NON_NEGATIVE)
    d_cutoff: float = _key(float, 1.0, "One Euro derivative cutoff (Hz)", _HERTZ)
    min_pose_score: float = _key(float, 0.2, "poses scoring below are ignored", vocabulary.SCORE)
    min_keypoint_score: float = _key(
        float, 0.3, "keypoints at or above count for matching", vocabulary.SCORE
    )
    edge_margin: float = _key(
        float, 0.03, "fraction of the image counted as its edge", min=0.0, max=0.25
    )
    max_speed: float = _key(
        float, 3.0, "fastest plausible walk (m/s) when the floor is calibrated", _POSITIVE
    )

    def __post_init__(self) -> None:
        for setting in _schema(with_defaults=True):
            value = getattr(self, setting.name)
            if value is None and setting.default is None:
                continue
            setattr(self, setting.name, setting.check(value, f"tracking.{setting.name}"))

    @classmethod
    def from_mapping(cls, data: dict, where: str = "[tracking]") -> TrackingSettings:
        """Build from a scene file's table; an unknown key is a :class:`SceneError` naming it."""
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                raise SceneError(f"{where}: unknown setting {key!r}; use one of {', '.join(known)}")
        return cls(**data)

    def grace_over(self, missing_frames: int, missing_seconds: float) -> bool:
        """True when a person missing for that many frames / seconds leaves."""
        if self.max_missing is not None:
            return missing_frames > self.max_missing
        if self.max_missing_seconds == 0:
            return missing_frames > 0
        return missing_seconds > self.max_missing_seconds


def _schema(with_defaults: bool) -> tuple[Setting, ...]:
    out = []
    for f in fields(TrackingSettings):
        kind, help_text, parse, bounds = f.metadata["key"]
        default = f.default if with_defaults else None
        out.append(Setting(f.name, kind, default, help_text, parse=parse, **bounds))
    return tuple(out)


def tracking_schema() -> tuple[Setting, ...]:
    """The ``[tracking]`` scene schema: one :class:`~posestage.config.schema.Setting` per field of
    :class:`TrackingSettings`, default None (unset keys keep the tracker's defaults)."""
    return _schema(with_defaults=False)
