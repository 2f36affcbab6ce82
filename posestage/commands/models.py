"""``posestage models``: list the catalogue, fetch a model, show its path, verify downloads."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from posestage.errors import ModelError


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser(
        "models",
        help="list, fetch and verify pose models",
        description="The model catalogue. Models are searched in POSESTAGE_MODELS_PATH, then the user cache.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.add_parser("list", help="list catalogue models and whether they are downloaded")
    fetch = actions.add_parser(
        "fetch", help="download a model (CPU and Edge TPU files) into the cache"
    )
    fetch.add_argument("name", nargs="?", help="catalogue name, e.g. posenet-481x641")
    fetch.add_argument(
        "--test-data",
        action="store_true",
        help="every model plus Coral's test photos and references, for posestage's tests",
    )
    which = fetch.add_mutually_exclusive_group()
    which.add_argument(
        "--cpu", dest="edgetpu", action="store_false", default=None, help="only the CPU file"
    )
    which.add_argument(
        "--edgetpu", dest="edgetpu", action="store_true", help="only the Edge TPU file"
    )
    fetch.add_argument(
        "--dir", type=Path, default=None, help="download into this folder instead of the cache"
    )
    path = actions.add_parser("path", help="print the local path of a model file")
    path.add_argument("name", help="catalogue name")
    path.add_argument(
        "--edgetpu", action="store_true", help="the Edge TPU file instead of the CPU one"
    )
    actions.add_parser("verify", help="check the sha256 of every downloaded model file")
    p.set_defaults(func=run, parser=p)
    return p


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "action", None)
    if action == "list":
        return list_models()
    if action == "fetch":
        if args.test_data:
            return fetch_test_data(args.dir)
        if not args.name:
            raise ModelError(
                "models fetch: give a model name (see `posestage models list`) or --test-data"
            )
        return fetch(args.name, args.edgetpu, args.dir)
    if action == "path":
        from posestage.engine.catalogue import get_model

        print(get_model(args.name).path(edgetpu=args.edgetpu))
        return 0
    if action == "verify":
        return verify()
    args.parser.print_help()
    return 2


def list_models() -> int:
    from posestage.engine.catalogue import cache_dir, load_catalogue, search_path

    print(f"{'name':<20}{'family':<9}{'size':<10}{'cpu':<11}{'edgetpu':<11}description")
    for model in load_catalogue().values():
        h, w = model.resolution
        cpu = "yes" if model.find(edgetpu=False) else "-"
        tpu = "yes" if model.edgetpu and model.find(edgetpu=True) else "-"
        print(
            f"{model.name:<20}{model.family:<9}{f'{h}x{w}':<10}{cpu:<11}{tpu:<11}{model.description}"
        )
    print(f"\nsearched: {', '.join(str(p) for p in search_path())}")
    print(f"`posestage models fetch NAME` downloads into {cache_dir()}")
    return 0


class _Progress:
    """Download progress on stderr, one updating line per file."""

    def __init__(self):
        self.shown = False

    def __call__(self, done: int, total: int | None) -> None:
        self.shown = True
        if total:
            print(
                f"\r  {done / total:6.1%} of {total / 1e6:.1f} MB",
                end="",
                file=sys.stderr,
                flush=True,
            )
        else:
            print(f"\r  {done / 1e6:.1f} MB", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.shown:
            print(file=sys.stderr)
            self.shown = False


def fetch_test_data(folder: Path | None) -> int:
    """Every model, photo and reference the tests use. What cannot be downloaded (offline,
    a server gone) is listed, every file with its URL, sha256 and folder, to fetch by hand;
    then one line and exit status 1."""
    from posestage.engine.catalogue import fetch_test_data as fetch_all

    progress = _Progress()
    unfetched: list = []

    def announce(name: str) -> None:
        progress.end()
        print(f"  {name}", file=sys.stderr)

    try:
        paths = fetch_all(folder=folder, progress=progress, announce=announce, unfetched=unfetched)
    finally:
        progress.end()
    if unfetched:
        print(f"{len(unfetched)} files to fetch by hand (URL, sha256, where it goes):")
        for entry, destination, _ in unfetched:
            print(f"  {entry.url}\n    sha256 {entry.sha256}\n    into {destination / entry.file}")
        print(
            "or set POSESTAGE_SHARED to a folder with models/, images/ and reference/ "
            "(the catalogue: models/catalogue.toml)"
        )
        print(f"error: {unfetched[0][2]}", file=sys.stderr)
        return 1
    print(
        f"{len(paths)} files checked: models in {paths[0].parent}, photos and references in "
        f"{paths[-1].parent.parent}"
    )
    return 0


def fetch(name: str, edgetpu: bool | None, folder: Path | None) -> int:
    from posestage.engine.catalogue import fetch as fetch_model

    progress = _Progress()
    try:
        paths = fetch_model(name, edgetpu=edgetpu, folder=folder, progress=progress)
    finally:
        progress.end()
    for path in paths:
        print(path)
    return 0


def verify() -> int:
    from posestage.engine.catalogue import verify as verify_all

    bad = 0
    for result in verify_all():
        if result.status == "missing":
            continue
        bad += result.status != "ok"
        print(f"{result.status.upper():<9}{result.model:<20}{result.path}")
    if bad:
        print(
            f"{bad} file(s) do not match the catalogue: delete them and run `posestage models fetch NAME`",
            file=sys.stderr,
        )
        return 1
    return 0
