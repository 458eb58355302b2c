"""Rasa's stores, extended so that personal data never rests in clear (business.privacy), and the
parts of Rasa's serving path the product runs its own way (the action server's connections and
answers, the graph runner), installed when Rasa loads the tracker store."""
