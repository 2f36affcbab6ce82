"""What a model family is: the contract between :class:`~posestage.engine.pose_engine.PoseEngine` and the
code that knows one kind of network (:mod:`posestage.engine.posenet`, :mod:`posestage.engine.movenet`).

The engine knows nothing about any particular network; a :class:`ModelFamily` subclass
recognises its models by their input/output signature, prepares the flatbuffer for the
interpreter, and decodes the outputs. Families import this module, never the engine; the engine
imports the families it lists (``posestage.engine.pose_engine.FAMILIES``), so there is no cycle.

The family contract, in the order the engine calls it::

    Family.recognises(model) -> bool          # classmethod, from the signature only
    family = Family(model, settings)          # settings: DecodeSettings overrides
    family.prepare() -> bytes                 # flatbuffer for the interpreter
    family.check_input_size((H, W))           # only for resizable (CPU) families
    family.bind(interpreter)                  # after allocate_tensors: find the outputs
    per frame:
        family.region((H, W)) -> (top, left, bottom, right) | None
        ... engine crops that region of the source (may extend past the image; padded with
            black), resizes it into the input tensor, invokes ...
        family.decode(interpreter) -> (xy (N,17,2) input-tensor pixels (x, y),
                                       scores (N,17), pose_scores (N,))
        ... engine maps xy back through the crop and resize into source pixels ...
        family.observe(poses, (H, W))         # poses in source pixels, e.g. for crop tracking
    family.reset()                            # new video / scene: forget tracking state
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    import numpy as np

    from posestage.engine.tflite import TfliteModel
    from posestage.model.poses import Pose

Region = tuple[float, float, float, float]  # (top, left, bottom, right) in source pixels


@dataclass(frozen=True)
class DecodeSettings:
    """Decoder overrides from the caller; ``None`` keeps the model's own defaults."""

    max_poses: int | None = None
    score_threshold: float | None = None
    nms_radius: float | None = None
    tracking: bool = False  # video: families may follow the person between frames (MoveNet)


class ModelFamily:
    """Base class of a model family (PoseNet, MoveNet, ...). See the module docstring.

    Subclasses set ``name``; ``resizable`` is True when the network runs at other input sizes
    (fully convolutional CPU models). One instance serves one engine, so it may keep state
    between frames (e.g. MoveNet's crop tracking in :meth:`region` / :meth:`observe`).
    """

    name: ClassVar[str] = ""
    resizable: ClassVar[bool] = False

    @classmethod
    def recognises(cls, model: TfliteModel) -> bool:
        """True if ``model``'s inputs/outputs/custom ops are this family's."""
        raise NotImplementedError

    def __init__(self, model: TfliteModel, settings: DecodeSettings):
        self.model = model
        self.settings = settings

    def prepare(self) -> bytes:
        """The flatbuffer bytes the interpreter runs (e.g. with a custom op stripped)."""
        return self.model.content

    def check_input_size(self, size: tuple[int, int]) -> None:
        """Raise :class:`ModelError` if the network cannot run at ``size`` (H, W)."""

    def bind(self, interpreter) -> None:
        """Look up output tensors once the interpreter is allocated."""

    def decode(self, interpreter) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(xy (N,17,2) float32 (x, y) input-tensor pixels, scores (N,17), pose_scores (N,))``."""
        raise NotImplementedError

    def region(self, image_hw: tuple[int, int]) -> Region | None:
        """The source region to crop for the next frame, or ``None`` for the whole image."""
        return None

    def observe(self, poses: list[Pose], image_hw: tuple[int, int]) -> None:
        """The poses just found (source pixels), e.g. to choose the next :meth:`region`."""

    def reset(self) -> None:
        """Forget per-video state (a new video, a cut, a scene change)."""

    @property
    def kernel(self) -> str:
        """Which decoder implementation runs (PoseNet: ``c`` or ``numpy``), "" if only one."""
        return ""
