"""The report: one HTML page (PNG figures beside it) and a Markdown summary of a competition's runs."""

from kaggletk.report._build import ReportResult, build_report

__all__ = ["ReportResult", "build_report"]
