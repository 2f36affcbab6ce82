"""mDNS: a stage whose web server listens beyond this computer is found by an OSCQuery browser
(python-oscquery's, over zeroconf) — inside a network namespace the test makes, never on the
machine's network."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parents[1] / "scenes" / "demo.toml"
#: the namespace's loopback up, with a route for multicast (mDNS's 224.0.0.251)
NETNS = "ip link set lo up && ip route add 224.0.0.0/4 dev lo"

SCRIPT = """
import json, subprocess, sys, time, urllib.request
from pythonoscquery.osc_query_browser import OSCQueryBrowser
from pythonoscquery.osc_query_client import OSCQueryClient

stage = subprocess.Popen([sys.executable, "-m", "posestage", "run", sys.argv[1], "--headless",
                          "--duration", "40", "--web", "0.0.0.0:18080", "--control", "0.0.0.0:19001"],
                         stderr=subprocess.PIPE, text=True, env={**__import__("os").environ,
                         "POSESTAGE_CONTROL_TOKEN": "a-token-of-sixteen-characters"})
browser = OSCQueryBrowser()
found = osc = []
for _ in range(150):
    time.sleep(0.2)
    found, osc = browser.get_discovered_oscquery(), browser.get_discovered_osc()
    if found and osc:
        break
print("oscjson", [(s.name, s.port) for s in found])
print("osc", [(s.name, s.port) for s in osc])
request = urllib.request.Request("http://127.0.0.1:18080/?HOST_INFO",
                                 headers={"Authorization": "Bearer a-token-of-sixteen-characters"})
print("host_info", json.loads(urllib.request.urlopen(request, timeout=10).read())["NAME"])
stage.terminate()
print("stderr", stage.communicate(timeout=30)[1].replace("\\n", " | "))
browser.zc.close()
"""


def test_a_stage_on_the_network_is_found_by_an_oscquery_browser():
    if shutil.which("unshare") is None or shutil.which("ip") is None or os.geteuid() != 0:
        why = "network namespaces need unshare, ip and root (CI has them)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    command = f'{NETNS} && exec {sys.executable} -c "$0" "$1"'
    done = subprocess.run(["unshare", "-n", "sh", "-c", command, SCRIPT, str(DEMO)],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "('posestage on " in out.split("oscjson", 1)[1].split("\n")[0], out
    assert ", 18080)" in out.split("oscjson", 1)[1].split("\n")[0], out
    assert ", 19001)" in out.split("\nosc ", 1)[1].split("\n")[0], out
    assert "host_info posestage" in out
