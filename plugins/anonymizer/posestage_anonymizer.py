"""posestage plugin ``anonymizer``: skeletons over the empty room, never a live image.

Coral's anonymizer demo as a plugin. It asks the stage for privacy with the empty room behind
the drawings (``posestage_privacy`` answers ``"room"``): no plugin gets camera pixels — this one
neither — nothing with people in it is written or sent, and the window never shows a live frame.
The **stage** decides from its own detections when the room is empty (nobody, not even someone
briefly lost by the model, for ``[stage] empty_seconds`` of frame time), keeps that frame in
memory only and shows it under the drawings; until then the window says "Waiting for everyone
to leave the frame…" over black. This plugin draws everyone's skeleton, nothing else.

Recapture the room (someone moved a chair) with R at the window or the control message
``ControlMessage("recapture")`` (e.g. ``/posestage/recapture`` over OSC): both go to the stage.
In strict privacy (``[stage] privacy = true``) or on a pose replay there are no pixels at all:
skeletons over black.

Skeletons are drawn by :func:`posestage.draw_people`, with the skeleton plugin's style settings
(``thickness``, ``radius``, ``threshold``, ``color_by``, …).
"""

from __future__ import annotations

from posestage import STYLE_SETTINGS, SkeletonStyle, draw_people, hookimpl

__version__ = "0.1.0"
PLUGIN_NAME = "anonymizer"

#: What ``posestage_privacy`` answers: privacy, with the stage's empty room behind the drawings.
PRIVACY = "room"

SETTINGS = tuple(STYLE_SETTINGS)


class Anonymizer:
    """The plugin object (entry point ``posestage_anonymizer:plugin``)."""

    PLUGIN_NAME = PLUGIN_NAME

    def __init__(self) -> None:
        self.style = SkeletonStyle()

    @hookimpl
    def posestage_settings(self):
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, settings):
        self.style = SkeletonStyle.of(settings)

    @hookimpl
    def posestage_settings_changed(self, settings):
        """Every setting applies live."""
        self.style = SkeletonStyle.of(settings)
        return True

    @hookimpl
    def posestage_privacy(self):
        return PRIVACY

    @hookimpl
    def posestage_draw(self, canvas, frame):
        draw_people(canvas, frame, self.style)


plugin = Anonymizer()
