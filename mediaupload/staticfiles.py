"""How static files are stored for production: compressed, with content hashes in their names."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    """WhiteNoise's compressed, hashed files, with ES module imports rewritten to hashed names.

    Django rewrites `import … from "./x.js"` only when told to; without it a hashed page module
    would import unhashed (uncacheable, or missing) siblings.
    """

    support_js_module_import_aggregation = True
