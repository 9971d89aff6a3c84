"""A static-files storage for production: hashed names, the app's ES module imports rewritten."""

from django.contrib.staticfiles.storage import ManifestStaticFilesStorage as DjangoManifestStorage


class ManifestStaticFilesStorage(DjangoManifestStorage):
    """Django's ManifestStaticFilesStorage, rewriting `import … from "./x.js"` to hashed names too.

    Django leaves ES module imports alone unless told to; a hashed page module would then import
    its siblings under their plain names, which are never cache-busted after an upgrade.
    """

    support_js_module_import_aggregation = True
