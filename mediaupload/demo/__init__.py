"""A demo of MediaFileField in someone's own models, for `make run`'s admin."""
