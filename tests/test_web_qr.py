"""The QR code a phone scans to open the control page: drawn module for module, and the stage
shows its own address with the token in it."""

from __future__ import annotations

import os

import segno
from test_web import DEMO, Running

from posestage.draw.qr import QUIET, draw_qr, qr_surface

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def test_the_code_is_drawn_module_for_module():
    import pygame

    text = "http://192.168.1.5:8080/?token=abcdefghijklmnop"
    rows = [list(r) for r in segno.make(text, error="m").matrix]
    surface = qr_surface(text, scale=3)
    assert surface.get_width() == (len(rows) + 2 * QUIET) * 3
    for y, row in enumerate(rows):
        for x, dark in enumerate(row):
            pixel = surface.get_at(((x + QUIET) * 3 + 1, (y + QUIET) * 3 + 1))[:3]
            assert pixel == ((0, 0, 0) if dark else (255, 255, 255))
    canvas = pygame.Surface((640, 480))
    canvas.fill((10, 20, 30))
    draw_qr(canvas, text)
    assert canvas.get_at((639 - 12, 479 - 12))[:3] == (
        255,
        255,
        255,
    )  # its quiet zone, in the corner
    assert canvas.get_at((5, 5))[:3] == (10, 20, 30)
    draw_qr(canvas, None)  # no address: nothing drawn, nothing raised


def test_the_stage_shows_its_address_with_the_token(tmp_path):
    text = (f'[stage]\nsource = "replay:{DEMO}"\nloop = true\ncontrol_token = true\n'
            "[plugins.skeleton]\n")  # fmt: skip
    with Running([text], tmp_path, control=("127.0.0.1", 0)) as run:
        qr = run.stage.show.qr
        web_token = run.stage.web.access.token
        control_token = run.stage.control_port.authority.token
    assert web_token == control_token  # one token opens both
    assert qr == f"http://127.0.0.1:{run.port}/?token={web_token}"
