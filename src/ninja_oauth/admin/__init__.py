"""Administration: one service for the CLI, the console (/admin) and the admin API."""
