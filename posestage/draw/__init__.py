"""Drawing: one palette, the pygame skeleton kit, the PIL still drawing."""
