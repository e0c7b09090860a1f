"""Administration: user accounts and their roles, and the audit log page."""
