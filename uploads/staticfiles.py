"""A static-files storage for production: hashed names, the app's ES module imports rewritten."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage as DjangoManifestStorage


class ModuleImports:
    """Rewrite `import … from "./x.js"` (and "../core/x.js") to hashed names too.

    Django leaves ES module imports alone unless told to; a hashed page module would then import
    its siblings under their plain names, which are never cache-busted after an upgrade. A module's
    hashed name settles only once every module it imports has settled, and Django processes the
    files of one folder level in no particular order: a chain of imports (the uploader's is about
    ten modules deep, across core/, ui/, page/ and widget/) can take a pass per module, more than
    Django's default five. Imports have no cycles, so the passes always come to an end.
    """

    support_js_module_import_aggregation = True
    max_post_process_passes = 20


# django-stubs types HashedFilesMixin.url and Storage.url apart; Django's own class mixes them too.
class ManifestStaticFilesStorage(ModuleImports, DjangoManifestStorage):  # type: ignore[misc]
    """Django's ManifestStaticFilesStorage, with the app's ES module imports hashed too."""
