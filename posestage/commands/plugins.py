"""``posestage plugins``: list installed plugins — name, version, distribution, hooks, and
whether the scene (``--scene FILE``, default ``scenes/skeleton.toml``) enables them."""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "plugins",
        help="list installed plugins and whether the scene enables them",
        description="List installed plugins: name, version, distribution, implemented hooks, "
        "and whether the scene enables them.",
    )
    p.add_argument("--scene", metavar="FILE", help="scene to check (default: scenes/skeleton.toml)")
    p.add_argument(
        "-p", dest="enable", action="append", default=[], metavar="NAME", help="add a plugin module"
    )
    p.add_argument(
        "--disable", action="append", default=[], metavar="NAME", help="do not load this plugin"
    )
    p.add_argument("--safe", action="store_true", help="load only the built-in plugins")
    p.add_argument("--plugin-dir", metavar="DIR", help="also the plugin .py files in DIR")
    p.add_argument("--settings", action="store_true", help="also list each plugin's settings")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from posestage.config.scenes import default_scene, load_scene
    from posestage.config.schema import describe
    from posestage.errors import SceneError
    from posestage.host import PluginHost

    host = PluginHost.load(enable=args.enable, disable=args.disable, safe=args.safe)
    if args.plugin_dir:
        from posestage.host import PluginInfo
        from posestage.host.plugindir import ORIGIN, load_into

        _, problems = load_into(host, args.plugin_dir)
        for path, error in problems:
            host.plugins[path.stem] = PluginInfo(path.stem, origin=ORIGIN, error=error)
    scene = load_scene(args.scene) if args.scene else default_scene()
    enabled = set(scene.plugin_names) | set(host.extra)
    problem = ""
    try:
        host.check(scene.plugins)
    except SceneError as err:
        problem = str(err)
    rows = []
    for name, info in sorted(host.plugins.items()):
        rows.append(
            {
                "name": name,
                "version": info.version,
                "distribution": info.distribution or info.origin,
                "builtin": info.builtin,
                "hooks": [h.removeprefix("posestage_") for h in info.hooks],
                "origin": info.origin,
                "scene": name in enabled,
                "status": "not loaded" if info.error else ("on" if name in enabled else "off"),
                "error": info.error,
                "settings": describe(info.settings),
            }
        )
    if args.json:
        doc = {"scene": str(scene.path or "built-in default"), "plugins": rows}
        if problem:
            doc["problem"] = problem
        print(json.dumps(doc, indent=2))
        return 2 if problem and args.scene else 0
    print(f"scene: {scene.path or 'built-in default'}")
    if not rows:
        print("no plugins installed (pip install ./plugins/skeleton)")
    width = max([len(r["name"]) for r in rows] + [4])
    for r in rows:
        state = "on " if r["scene"] and not r["error"] else "off"
        origin = r["distribution"] + (" (built-in)" if r["builtin"] else "")
        print(f"{state} {r['name']:<{width}}  {r['version'] or '-':<8} {origin}")
        if r["error"]:
            print(f"      not loaded: {r['error']}")
        elif r["hooks"]:
            print(f"      hooks: {', '.join(r['hooks'])}")
        if args.settings:
            for line in r["settings"]:
                print(f"      {line}")
    missing = [n for n in scene.plugin_names if n not in host.plugins]
    if problem:
        print(f"problem: {problem}")
    elif missing:
        print(f"problem: the scene uses plugins that are not installed: {', '.join(missing)}")
    return 2 if problem and args.scene else 0
