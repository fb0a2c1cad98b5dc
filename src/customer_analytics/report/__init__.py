"""Offline HTML reports: each stage for stakeholders and analysts, and the run's index page."""

from customer_analytics.report.export import export_stage_html
from customer_analytics.report.index import write_index

__all__ = ["export_stage_html", "write_index"]
