"""The stage announced on the local network (mDNS, zeroconf): :class:`Announcement`.

When the web server listens beyond this computer, OSCQuery clients (ossia score, Chataigne,
VDMX) find it without an address typed: ``_oscjson._tcp`` for the web server (the OSCQuery
tree), ``_osc._udp`` for the control port when there is one. On 127.0.0.1 nothing is announced:
nobody else could reach it. Registration (which probes the network for a second or two) runs on
a thread of its own, so the show starts at once; a network without multicast is one warning.
"""

from __future__ import annotations

import logging
import socket
import threading

__all__ = ["OSC_TYPE", "OSCJSON_TYPE", "Announcement"]

log = logging.getLogger("posestage.web")

OSCJSON_TYPE = "_oscjson._tcp.local."
OSC_TYPE = "_osc._udp.local."


class Announcement:
    """Announces ``web_port`` (and ``osc_port``, None: no control port) at ``address``."""

    def __init__(self, address: str, web_port: int, osc_port: int | None) -> None:
        self.address, self.web_port, self.osc_port = address, web_port, osc_port
        self._zeroconf = None
        self._lock = threading.Lock()
        self._closed = False
        self.registered: list[str] = []
        self._thread = threading.Thread(target=self._register, name="posestage-mdns", daemon=True)
        self._thread.start()

    def _register(self) -> None:
        try:
            from zeroconf import ServiceInfo, Zeroconf

            host = socket.gethostname().split(".")[0] or "posestage"
            name = f"posestage on {host}"
            packed = [socket.inet_aton(self.address)]
            services = [ServiceInfo(OSCJSON_TYPE, f"{name}.{OSCJSON_TYPE}", addresses=packed,
                                    port=self.web_port, server=f"{host}.local.")]  # fmt: skip
            if self.osc_port is not None:
                services.append(ServiceInfo(OSC_TYPE, f"{name}.{OSC_TYPE}", addresses=packed,
                                            port=self.osc_port, server=f"{host}.local."))  # fmt: skip
            with self._lock:
                if self._closed:
                    return
                self._zeroconf = zc = Zeroconf()
            for info in services:
                zc.register_service(info, allow_name_change=True)
                self.registered.append(info.type)
            log.info("web: announced on the local network (mDNS) as %r", name)
        except Exception as err:  # noqa: BLE001 - no multicast here: the show goes on
            log.warning("web: not announced on the local network (mDNS): %s", err)

    def close(self, timeout: float = 3.0) -> None:
        with self._lock:
            self._closed = True
        self._thread.join(timeout)
        zc = self._zeroconf
        if zc is not None:
            try:
                zc.unregister_all_services()
                zc.close()
            except Exception as err:  # noqa: BLE001 - closing must finish
                log.warning("web: mDNS: %s", err)
