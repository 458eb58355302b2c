"""The business store: SQLAlchemy models, engine/session handling and the demo seed."""
