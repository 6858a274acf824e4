"""Device config management with netmiko (issue: device config management).

Empty until that issue lands; the package exists so the layout in DESIGN.md holds.
"""
