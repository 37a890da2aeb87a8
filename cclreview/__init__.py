"""cclreview: review the U.S. Commerce Control List for decontrol candidates."""

__version__ = "0.1.0"
