"""posestage plugins ``osc`` (every person's pose out over OSC) and ``control`` (OSC in).

- :mod:`posestage_osc.layouts`: the layouts, described once as pure data;
- :mod:`posestage_osc.docs`: docs/osc.md's generated parts, from the layouts and the settings;
- OSC on the wire (encoding, the defensive decoder): posestage's ``osc_wire``, shared with
  the stage's control port;
- :mod:`posestage_osc.encoder`: frames → bundles, fast, bytes identical to python-osc's;
- :mod:`posestage_osc.plugin`: the ``osc`` plugin (targets, sockets, enter/leave, health);
- :mod:`posestage_osc.namespace`: every concrete address a target sends (fixed slots), with
  types and ranges — for the patches and the stage's OSCQuery tree;
- :mod:`posestage_osc.patches`: receiving patches for Pure Data and Max, from the layouts;
- :mod:`posestage_osc.commands`: ``posestage osc patch`` and ``posestage osc dump``;
- :mod:`posestage_osc.control`: the deprecated ``control`` plugin (control in is the stage's:
  ``[stage] control``).
"""

__version__ = "0.1.0"
