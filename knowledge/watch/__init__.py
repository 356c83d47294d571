"""Legal watch: references to codes and texts, and the links to Légifrance."""
