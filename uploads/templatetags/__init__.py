"""Template tags of the uploads app: `{% load uploads_tags %}`."""
