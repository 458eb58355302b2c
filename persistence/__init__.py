"""Rasa's stores, extended so that personal data never rests in clear (business.privacy)."""
