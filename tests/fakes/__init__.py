"""Stateful fakes for peers that cannot run here (NAS dynamic-authorization servers)."""
