"""The equipment register kept as a spreadsheet: reading it, checking it whole, and its template."""
