"""The inventory: the source of truth for streets, communities, buildings, hotspots, APs,
NAS clients, network devices, device credentials and coverage targets.

Imports only the kernel (``citynet``). Other domains refer to inventory records by key.
"""
