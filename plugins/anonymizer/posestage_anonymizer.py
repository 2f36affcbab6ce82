"""posestage plugin ``anonymizer``: skeletons over the empty room, never a live image.

Coral's anonymizer demo as a plugin. It asks for privacy mode (``posestage_privacy``), so no
other plugin gets camera pixels, nothing with people in it is written or sent, and the window
never shows a live frame. It alone gets ``frame.image``, and keeps exactly one frame of it: once
nobody has been in view for ``empty_seconds`` (frame time: ``frame.timestamp``), that frame is
copied, in memory only, and from then on the window shows that still background with everyone's
skeleton over it. Until then it shows "Waiting for everyone to leave the frame…" over black.

Recapture the background (someone moved a chair) with the ``key`` (R by default) or a control
message ``ControlMessage("recapture", target="anonymizer")`` — over OSC, e.g.
``/posestage/recapture anonymizer`` through the OSC control plugin. In strict privacy
(``[stage] privacy = true``) or on a pose replay there are no pixels at all: skeletons only.

Skeletons are drawn by :func:`posestage.draw.skeleton.draw_people`, with the skeleton plugin's
style settings (``thickness``, ``radius``, ``threshold``, ``color_by``, …).
"""

from __future__ import annotations

import os
import string

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from posestage import (  # noqa: E402
    STYLE_SETTINGS,
    ControlMessage,
    EmptyBackground,
    Setting,
    SkeletonStyle,
    draw_message,
    draw_people,
    hookimpl,
)

__version__ = "0.1.0"
PLUGIN_NAME = "anonymizer"

WAITING = "Waiting for everyone to leave the frame…"
NO_IMAGE = "No camera image (strict privacy or a replay): skeletons only"
#: The control message that recaptures the background (``target=""`` reaches every plugin).
RECAPTURE = ControlMessage("recapture", target=PLUGIN_NAME)
#: Keys the stage keeps for itself (Q, F, H, T); any other letter may recapture.
RECAPTURE_KEYS = tuple(c for c in string.ascii_lowercase if c not in "qfht")

SETTINGS = (
    Setting(
        "empty_seconds",
        float,
        2.0,
        "seconds (frame time) nobody may be in view before that frame becomes the background",
        min=0.0,
        max=3600.0,
    ),
    Setting("key", str, "r", "key that recaptures the background", choices=RECAPTURE_KEYS),
    *STYLE_SETTINGS,
)


class Anonymizer:
    """The plugin object (entry point ``posestage_anonymizer:plugin``)."""

    PLUGIN_NAME = PLUGIN_NAME

    def __init__(self) -> None:
        self.background = EmptyBackground()
        self.style = SkeletonStyle()
        self.key = ord("r")
        self.saw_image = False  # did the last frame come with pixels (else: strict privacy/replay)
        self._surface: pygame.Surface | None = None
        self._surface_of: tuple | None = None

    @property
    def locked(self) -> bool:
        """True once the empty background is captured."""
        return self.background.locked

    def recapture(self) -> None:
        """Forget the background; wait for an empty room again."""
        self.background.reset()
        self._surface = self._surface_of = None

    @hookimpl
    def posestage_settings(self):
        return list(SETTINGS)

    @hookimpl
    def posestage_configure(self, settings):
        self.background = EmptyBackground(wait=float(settings["empty_seconds"]))
        self.style = SkeletonStyle.of(settings)
        self.key = ord(settings["key"])
        self.saw_image = False
        self._surface = self._surface_of = None

    @hookimpl
    def posestage_settings_changed(self, settings):
        """Every setting applies live: the background already taken is kept."""
        self.background.wait = float(settings["empty_seconds"])
        self.style = SkeletonStyle.of(settings)
        self.key = ord(settings["key"])
        return True

    @hookimpl
    def posestage_privacy(self):
        return True

    @hookimpl
    def posestage_frame(self, frame):
        self.saw_image = frame.image is not None
        self.background.update(frame)

    @hookimpl
    def posestage_event(self, event):
        action = getattr(event, "action", None)  # a ControlMessage (OSC, a web page, …)
        if action is not None:
            target = getattr(event, "target", "")
            if action == RECAPTURE.action and target in ("", PLUGIN_NAME):
                self.recapture()
                return True if target == PLUGIN_NAME else None
            return None
        if getattr(event, "type", None) == pygame.KEYDOWN and getattr(event, "key", 0) == self.key:
            self.recapture()  # not consumed: other plugins keeping a background recapture too
        return None

    @hookimpl
    def posestage_draw(self, canvas, frame):
        surface = self._background_surface(canvas)
        if surface is not None:
            canvas.blit(surface, (0, 0))
        else:
            canvas.fill((0, 0, 0))
        draw_people(canvas, frame, self.style)
        if surface is None:
            draw_message(canvas, WAITING if self.saw_image else NO_IMAGE)

    @hookimpl
    def posestage_unconfigure(self):
        self.recapture()  # the background lives in memory only, and only while configured

    def _background_surface(self, canvas: pygame.Surface) -> pygame.Surface | None:
        image = self.background.image
        size = canvas.get_size()
        if image is None:
            self._surface = self._surface_of = None  # forgotten (recapture, strict privacy)
            return None
        key = (id(image), self.background.locked_at, size, canvas.get_bitsize())
        if self._surface_of != key:
            h, w = image.shape[:2]
            surface = pygame.image.frombuffer(image.tobytes(), (w, h), "RGB")
            if (w, h) != tuple(size):
                surface = pygame.transform.smoothscale(surface, size)
            # in the canvas's own pixel format: each display frame's blit is a plain copy
            self._surface, self._surface_of = surface.convert(canvas), key
        return self._surface


plugin = Anonymizer()
