"""Model, form and DRF fields that attach uploads to a project's own objects."""
