"""RADIUS authenticator, accounting and CoA/Disconnect (issue: RADIUS authenticator).

Empty until that issue lands; the package exists so the layout in DESIGN.md holds.
"""
