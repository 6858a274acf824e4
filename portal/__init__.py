"""Captive portal and web admin (issues: captive portal, staff accounts).

Empty until those issues land; the package exists so the layout in DESIGN.md holds.
"""
