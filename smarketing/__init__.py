"""Smarketing: marketing and sales on one system."""

__version__ = "0.1.0"
