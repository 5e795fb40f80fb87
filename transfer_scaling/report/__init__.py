"""Analysis of a study workdir: fitted laws, figures, report.md."""
