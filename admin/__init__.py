"""The web admin of the SVP assistant: review queue, knowledge management, accounts."""
