"""The catalogue of entries: entries, import and export."""
