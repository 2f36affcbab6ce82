"""What configures a show: the vocabularies, the settings schema, tracking settings, scenes."""
