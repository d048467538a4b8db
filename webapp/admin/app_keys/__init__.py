"""App keys pages: create (shown once), list with usage, edit, revoke."""
