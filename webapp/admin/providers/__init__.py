"""Providers: list, forms, detail with drag-to-reorder, default connection and error reset."""
