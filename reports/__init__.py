"""Reports for people who do not open the dashboard: the executive PDF and the e-mail digests.

A presentation layer beside ``pages/``: it reads figures from ``metrics`` (always through a
scoped :class:`metrics.filters.Filters`) and draws them with ``pages.charts`` (pure plotly).
"""
