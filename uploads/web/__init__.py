"""The HTML side: the uploader page, one upload's page, and the config the browser gets."""
