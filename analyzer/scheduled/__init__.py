"""scheduled."""
