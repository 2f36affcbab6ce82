"""Compatibility checks at load: hook implementations posestage would call wrongly are refused.

pluggy accepts a few things posestage cannot honour; each is refused with a message naming the
plugin, the hook and the fix (the plugin is not loaded, the stage starts without it):

- ``async def`` hooks (and ``async`` generators): the stage calls hooks synchronously and would
  never await them — the body would never run;
- generator hooks (a ``yield`` in the body): calling one runs nothing;
- ``*args`` / ``**kwargs``: pluggy passes arguments by name and passes nothing to these;
- keyword-only arguments and arguments with defaults: pluggy never passes them either, so
  ``frame=None`` would always be None;
- ``tryfirst`` / ``trylast``: posestage calls plugins in scene order (the order of the
  ``[plugins.NAME]`` tables), not pluggy's;
- ``hookwrapper`` / ``wrapper``: there is no pluggy call chain to wrap.

Supported as pluggy documents them: ``specname="posestage_frame"`` (an implementation under
another function name) and ``optionalhook`` (no effect: unknown hook names are refused anyway).
"""

from __future__ import annotations

import inspect
from typing import Any

#: hookimpl options and what to do instead, for the options posestage refuses.
REFUSED_OPTIONS = {
    "tryfirst": "posestage calls plugins in scene order; remove tryfirst=True and put the "
    "plugin's [plugins.NAME] table earlier in the scene",
    "trylast": "posestage calls plugins in scene order; remove trylast=True and put the "
    "plugin's [plugins.NAME] table later in the scene",
    "hookwrapper": "hook wrappers are not supported; implement the hook itself",
    "wrapper": "hook wrappers are not supported; implement the hook itself",
}


def _function(impl: Any) -> Any:
    """The implementation as called (a bound method keeps its ``self`` bound)."""
    return inspect.unwrap(getattr(impl, "function", impl))


def hook_problem(plugin: str, hook: str, impl: Any) -> str:
    """Why ``impl`` (a pluggy ``HookImpl``, or a function) of ``hook`` cannot be used by
    posestage — one line naming the plugin, the hook and the fix — or ``""``."""
    fn = _function(impl)
    where = f"plugin {plugin!r} refused: {hook}"
    opts = getattr(impl, "opts", None) or {}
    for option, fix in REFUSED_OPTIONS.items():
        if opts.get(option):
            return f"{where}: {option}=True is not supported; {fix}"
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return (
            f"{where} is 'async def': posestage calls hooks synchronously and would never await "
            "it; make it a plain def (run asyncio work on a thread of your own, started in "
            "posestage_configure)"
        )
    if inspect.isgeneratorfunction(fn):
        return (
            f"{where} is a generator (it contains yield), so calling it runs nothing; "
            "return a value instead of yielding"
        )
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin: nothing to check
        return ""
    for p in params:
        if p.kind is p.VAR_POSITIONAL or p.kind is p.VAR_KEYWORD:
            star = "*" if p.kind is p.VAR_POSITIONAL else "**"
            return (
                f"{where}({star}{p.name}): posestage passes arguments by name and passes "
                f"nothing to {star}{p.name}; name the arguments you need"
                f"{_wanted(hook)}"
            )
        if p.kind is p.KEYWORD_ONLY:
            return (
                f"{where}: argument {p.name!r} is keyword-only and would never be passed; "
                f"make it a plain argument{_wanted(hook)}"
            )
        if p.default is not p.empty:
            return (
                f"{where}: argument {p.name!r} has a default ({p.name}={p.default!r}) and would "
                f"never be passed (it would always be {p.default!r}); remove the default"
            )
    return ""


def _wanted(hook: str) -> str:
    from posestage import hookspecs

    spec = getattr(hookspecs, hook, None)
    if spec is None:
        return ""
    args = ", ".join(inspect.signature(spec).parameters)
    return f", e.g. {hook}({args})"
