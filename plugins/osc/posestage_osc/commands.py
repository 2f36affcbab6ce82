"""``posestage osc``: the OSC tools on the command line.

- ``posestage osc patch --for pd|max --layout NAME [--port N] [-o FILE]``: a receiving patch
  made from the layout description (:mod:`posestage_osc.patches`), every slot and keypoint
  unpacked into named receivers;
- ``posestage osc dump [HOST:]PORT``: a receiver printing every message it decodes (bundles
  flattened), one line each — to see what arrives before building a patch.
"""

from __future__ import annotations

import argparse
import socket
import sys
import time
from pathlib import Path

from posestage import PosestageError
from posestage import osc_wire as wire

from .encoder import Options
from .layouts import LAYOUTS
from .patches import KINDS, max_patch, pd_patch

__all__ = ["add_commands", "dump", "format_message", "patch"]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    """The ``osc`` command and its two sub-commands."""
    osc = subparsers.add_parser("osc", help="OSC tools: receiving patches, a message dump")
    sub = osc.add_subparsers(dest="osc_command", metavar="COMMAND")
    osc.set_defaults(func=lambda args: osc.print_help() or 2)

    p = sub.add_parser(
        "patch",
        help="write a Pure Data or Max patch receiving a layout, every value to a [r NAME]",
    )
    p.add_argument("--for", dest="kind", required=True, choices=tuple(KINDS))
    p.add_argument("--layout", default="values", choices=tuple(LAYOUTS))
    p.add_argument("--port", type=int, metavar="N", help="UDP port (default: the layout's)")
    p.add_argument("--prefix", help="address prefix, as the osc plugin's prefix setting")
    p.add_argument("--slots", type=int, default=6, metavar="N", help="slots 0..N-1 (default 6)")
    p.add_argument("--health", action="store_true", help="also the health messages")
    p.add_argument("--floor", action="store_true", help="also each slot's floor position")
    p.add_argument("--zones", default="", metavar="A,B", help="also these zones' messages")
    p.add_argument(
        "-o", "--out", metavar="FILE",
        help="where to write (default posestage-LAYOUT.pd / .maxpat here; - for stdout)",
    )  # fmt: skip
    p.set_defaults(func=patch)

    d = sub.add_parser("dump", help="receive OSC and print every message, one line each")
    d.add_argument("listen", metavar="[HOST:]PORT", help="where to listen (HOST: 127.0.0.1)")
    d.add_argument("--count", type=int, metavar="N", help="stop after N messages")
    d.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    d.set_defaults(func=dump)


def patch(args: argparse.Namespace) -> int:
    if not 0 <= args.slots <= 64:
        raise PosestageError(f"--slots {args.slots}: give 0 to 64")
    port = LAYOUTS[args.layout].port if args.port is None else args.port
    if not 1 <= port <= 65535:
        raise PosestageError(f"--port {port}: give 1 to 65535")
    options = Options(layout=args.layout, prefix=args.prefix, slots=args.slots,
                      health=args.health)  # fmt: skip
    room = {"zones": [z for z in args.zones.split(",") if z.strip()], "floor": args.floor}
    text = (pd_patch if args.kind == "pd" else max_patch)(options, port, **room)
    if args.out == "-":
        sys.stdout.write(text)
        return 0
    out = Path(args.out or f"posestage-{args.layout}{KINDS[args.kind]}")
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        raise PosestageError(f"--out {out}: {err.strerror or err}; choose another file") from None
    print(f"{out}: {args.kind} patch receiving layout {args.layout} on UDP port {port}")
    return 0


def format_message(message: wire.Message) -> str:
    """``/pose/0/nose ,fff 0.5123 0.25 0.9``: address, type tags, arguments."""
    tags = "".join(wire.arg_type(a) for a in message.args)
    shown = []
    for a in message.args:
        if isinstance(a, float):
            shown.append(f"{a:.6g}")
        elif isinstance(a, bytes):
            shown.append(f"<blob {len(a)} bytes>")
        elif isinstance(a, str):
            shown.append(repr(a))
        else:
            shown.append(str(a))
    return " ".join([message.address, "," + tags, *shown])


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]") if sep else "127.0.0.1"
    try:
        number = int(port)
    except ValueError:
        raise PosestageError(f"osc dump {text}: give [HOST:]PORT such as 9000") from None
    if not 0 <= number <= 65535:
        raise PosestageError(f"osc dump {text}: the port is out of range; give 0 to 65535")
    return host or "127.0.0.1", number


def dump(args: argparse.Namespace) -> int:
    host, port = _listen(args.listen)
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0][0]
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.bind((host, port))
    except OSError as err:
        raise PosestageError(f"osc dump {args.listen}: {err.strerror or err}; choose another "
                             "port (is a patch listening there already?)") from None  # fmt: skip
    sock.settimeout(0.2)
    where = sock.getsockname()
    print(f"listening for OSC on {where[0]}:{where[1]} (Ctrl-C stops)", file=sys.stderr, flush=True)
    end = None if args.duration is None else time.monotonic() + args.duration
    seen = bad = 0
    try:
        while args.count is None or seen < args.count:
            if end is not None and time.monotonic() >= end:
                break
            try:
                data, sender = sock.recvfrom(65536)
            except TimeoutError:
                continue
            try:
                messages = wire.decode(data)
            except wire.OscError as err:
                bad += 1
                print(f"# not OSC from {sender[0]}:{sender[1]}: {err}", flush=True)
                continue
            for m in messages[: None if args.count is None else args.count - seen]:
                print(format_message(m), flush=True)
                seen += 1
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
    print(f"{seen} messages, {bad} datagrams not OSC", file=sys.stderr)
    return 0
