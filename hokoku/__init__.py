"""hokoku — incident-response workflow engine for personal-data incidents (Chapter 9)."""

__version__ = "0.1.0"
