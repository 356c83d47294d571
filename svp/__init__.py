"""Composition root of the SVP assistant: settings, CLI and the wiring of processes."""
