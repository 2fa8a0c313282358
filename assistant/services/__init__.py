"""Services: one unit of work per function over storage, domain and texts."""
