"""Chinese NLU for 星河: text normalisation and domain-aware segmentation (Rasa components in
`nlu.components`; the text rules in `nlu.text` and `nlu.dictionary` do not import Rasa)."""
