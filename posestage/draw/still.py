"""Draw skeletons on a PIL image: what ``posestage detect --out`` writes.

For stills and reports only; the live stage draws with pygame in its own plugins.
"""

from __future__ import annotations

from collections.abc import Iterable

from posestage.draw.palette import TEXT, color_for
from posestage.model.keypoints import BONES
from posestage.model.poses import Pose


def draw_poses(image, poses: Iterable[Pose], *, threshold: float = 0.2, width: int | None = None):
    """A copy of ``image`` (PIL, converted to RGB) with each pose's bones and keypoints drawn.

    Keypoints scoring below ``threshold`` and bones touching them are left out. ``width`` is
    the line width in pixels (default: about 0.4 % of the image's larger side).
    """
    from PIL import ImageDraw

    canvas = image.convert("RGB") if image.mode != "RGB" else image.copy()
    draw = ImageDraw.Draw(canvas)
    line = width or max(2, round(max(canvas.size) / 250))
    radius = line + 1
    for n, pose in enumerate(poses):
        colour = color_for(n)  # the n-th person: the stage's palette
        visible = pose.scores >= threshold
        for a, b in BONES:
            if visible[a] and visible[b]:
                (xa, ya), (xb, yb) = pose.xy[a], pose.xy[b]
                draw.line([(float(xa), float(ya)), (float(xb), float(yb))], fill=colour, width=line)
        for (x, y), seen in zip(pose.xy, visible):
            if seen:
                x, y = float(x), float(y)
                box = [x - radius, y - radius, x + radius, y + radius]
                draw.ellipse(box, fill=TEXT, outline=colour)
    return canvas
