"""Chinese NLU for 星河: domain-aware segmentation and the Rasa components (`nlu.components`).

The text normalisation it applies is the business core's (`business.text`); `nlu.dictionary`
does not import Rasa either."""
