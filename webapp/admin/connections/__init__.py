"""Connections: list, forms, detail, HTMX actions (test, toggle, fetch models) and the playground."""
