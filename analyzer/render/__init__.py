"""One module per output format; each reads a Report and computes nothing."""
