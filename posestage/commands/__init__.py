"""Sub-commands of the ``posestage`` command line, one module each (see posestage/cli.py)."""
