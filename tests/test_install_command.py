"""``posestage install`` / ``uninstall``: pip into posestage's own Python; plugin names work.

The real install → list → run → uninstall round trip is in test_plugin_packaging.py (slow).
"""

from __future__ import annotations

from posestage.cli import main
from posestage.commands.install import plugin_distributions


def test_installed_plugins_map_to_their_distributions():
    found = plugin_distributions()
    assert found["skeleton"][0] == "posestage-skeleton"
    assert found["recorder"] == ("posestage-recorder", "0.1.0")


def test_install_needs_something_to_install(capsys):
    assert main(["install"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "-e PATH" in err


def test_uninstall_refuses_posestage_itself(capsys):
    assert main(["uninstall", "posestage", "-y"]) == 2
    assert "that is posestage itself" in capsys.readouterr().err


def test_plugins_json_has_a_status(capsys):
    import json

    assert main(["plugins", "--json"]) == 0
    rows = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    assert rows["skeleton"]["status"] == "on"  # the default scene enables it
    assert rows["recorder"]["status"] == "off"
    assert rows["skeleton"]["origin"] == "entry point"
