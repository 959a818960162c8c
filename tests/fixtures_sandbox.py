"""Fixtures that serve the sandbox over real loopback HTTP (owned by the sandbox issue)."""
