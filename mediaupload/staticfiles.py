"""How static files are stored for production: compressed, with content hashes in their names."""

from whitenoise.storage import CompressedManifestStaticFilesStorage

from uploads.staticfiles import ModuleImports


class StaticFilesStorage(ModuleImports, CompressedManifestStaticFilesStorage):  # type: ignore[misc]
    """WhiteNoise's compressed, hashed files, with the app's ES module imports rewritten to hashed
    names (see ModuleImports)."""
