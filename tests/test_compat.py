"""Hook implementations posestage would call wrongly are refused at load, naming the fix."""

from __future__ import annotations

import pluggy
import pytest

from posestage import hookimpl, hookspecs
from posestage.host.checks import hook_problem


def impls(plugin):
    """The plugin's pluggy HookImpls by hook name (a real PluginManager, as the host uses)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name="p")
    return {
        caller.name: impl
        for caller in pm.get_hookcallers(plugin)
        for impl in caller.get_hookimpls()
    }


def problem(plugin, hook="posestage_frame"):
    return hook_problem("p", hook, impls(plugin)[hook])


class Fine:
    @hookimpl
    def posestage_frame(self, frame):
        pass

    @hookimpl
    def posestage_draw(self, canvas):
        pass


class Async:
    @hookimpl
    async def posestage_frame(self, frame):
        pass


class Generator:
    @hookimpl
    def posestage_frame(self, frame):
        yield frame


class Star:
    @hookimpl
    def posestage_frame(self, *args):
        pass


class StarStar:
    @hookimpl
    def posestage_frame(self, **kwargs):
        pass


class Defaulted:
    @hookimpl
    def posestage_draw(self, canvas, frame=None):
        pass


class KeywordOnly:
    @hookimpl
    def posestage_draw(self, canvas, *, frame):
        pass


class First:
    @hookimpl(tryfirst=True)
    def posestage_frame(self, frame):
        pass


class Renamed:
    @hookimpl(specname="posestage_frame")
    def on_frame(self, frame):
        pass


def test_plain_hooks_and_specname_are_fine():
    assert problem(Fine()) == "" and problem(Fine(), "posestage_draw") == ""
    assert problem(Renamed()) == ""


def test_module_level_functions_are_checked_too():
    import types

    module = types.ModuleType("posestage_x")

    @hookimpl
    async def posestage_frame(frame):
        pass

    module.posestage_frame = posestage_frame
    assert "'async def'" in problem(module)


@pytest.mark.parametrize(
    "plugin, hook, expected",
    [
        (
            Async(),
            "posestage_frame",
            "posestage_frame is 'async def': posestage calls hooks synchronously and would never await it; make it a plain def",
        ),
        (Generator(), "posestage_frame", "posestage_frame is a generator (it contains yield)"),
        (
            Star(),
            "posestage_frame",
            "posestage_frame(*args): posestage passes arguments by name and passes nothing to *args; name the arguments you need, e.g. posestage_frame(frame)",
        ),
        (StarStar(), "posestage_frame", "nothing to **kwargs"),
        (
            Defaulted(),
            "posestage_draw",
            "argument 'frame' has a default (frame=None) and would never be passed",
        ),
        (
            KeywordOnly(),
            "posestage_draw",
            "argument 'frame' is keyword-only and would never be passed; make it a plain argument, e.g. posestage_draw(canvas, frame)",
        ),
        (
            First(),
            "posestage_frame",
            "tryfirst=True is not supported; posestage calls plugins in scene order",
        ),
    ],
)
def test_refused_with_the_plugin_the_hook_and_the_fix(plugin, hook, expected):
    message = problem(plugin, hook)
    assert message.startswith(f"plugin 'p' refused: {hook}")
    assert expected in message and "\n" not in message


def test_the_host_refuses_them_at_load_and_the_stage_starts_without_them(tmp_path):
    from posestage.errors import PluginError
    from posestage.host import PluginHost

    host = PluginHost()
    with pytest.raises(PluginError, match=r"^plugin 'p' refused: posestage_frame is 'async def'"):
        host.register(Async(), "p")
    assert "p" not in host.plugins
    host.register(Fine(), "p")  # the name is free again: nothing half-registered
    path = tmp_path / "posestage_late.py"
    path.write_text(
        "from posestage import hookimpl\n\n@hookimpl(trylast=True)\ndef posestage_frame(frame):\n    pass\n"
    )
    with pytest.raises(PluginError, match=r"posestage_frame: trylast=True is not supported"):
        PluginHost.load(enable=[str(path)], entry_points=False)


def test_an_installed_plugin_that_is_refused_is_listed_with_the_reason(tmp_path, monkeypatch):
    import sys

    from posestage.host import PluginHost

    (tmp_path / "asyncy.py").write_text(
        "from posestage import hookimpl\n\n@hookimpl\nasync def posestage_draw(canvas):\n    pass\n"
    )
    info = tmp_path / "posestage_asyncy-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: posestage-asyncy\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[posestage]\nasyncy = asyncy\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        host = PluginHost.load()
    finally:
        sys.modules.pop("asyncy", None)
    assert not host.plugins["asyncy"].loaded
    assert "posestage_draw is 'async def'" in host.plugins["asyncy"].error
    assert host.plugins["skeleton"].loaded  # the others load as usual


def test_specname_and_optionalhook_work_through_the_stage():
    from posestage.testing import run_plugin

    class Both:
        frames = 0

        @hookimpl(specname="posestage_frame")
        def on_frame(self, frame):
            Both.frames += 1

        @hookimpl(optionalhook=True)
        def posestage_draw(self, canvas):
            canvas.fill((0, 0, 255))

    run = run_plugin(Both(), frames=5)
    assert run.errors == [] and Both.frames == 5
    assert (run.canvas == (0, 0, 255)).all()
