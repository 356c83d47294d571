"""The knowledge base: database models, migrations, services, import/export and search."""
