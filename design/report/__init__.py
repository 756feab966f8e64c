"""Results folders of design searches: tables, figures, summary.md and report.html."""
