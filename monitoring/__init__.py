"""Collectors, coverage KPIs, InfluxDB sink and the managers' dashboard (issue: monitoring).

Empty until that issue lands; the package exists so the layout in DESIGN.md holds.
"""
