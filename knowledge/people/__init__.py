"""People: askers, advisers, organisations and their links."""
