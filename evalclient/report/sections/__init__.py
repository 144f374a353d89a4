"""The report sections, one module each; every one reads a ReportContext and returns Sections."""
