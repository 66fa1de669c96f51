"""Vendor addon offline packages: discovery, streaming readers, scan index."""
