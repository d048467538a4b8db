"""The service layer: the only code that writes to the database and calls adapters."""
