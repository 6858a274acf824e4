"""citynet — control plane for a district's public WiFi and government network.

This package is the shared kernel: configuration, the store, secrets at rest, logging,
backups, the CLI root and the web app factory. Domain packages (``inventory``,
``radius``, ``portal``, ``devices``, ``monitoring``) sit beside it.
"""

__version__ = "0.1.0"
