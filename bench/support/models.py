"""A model with a django-s3-file-field, so its upload-initialize endpoint has a field to sign for.

No table is ever written: the benchmark only asks the endpoint to start uploads.
"""

from django.conf import settings
from django.db import models

from uploads import conf

if getattr(settings, "HAS_S3FF", False):
    # Bench-only packages: absent where only the product is installed, untyped where present.
    from s3_file_field.fields import S3FileField  # type: ignore[import-not-found, unused-ignore]
    from storages.backends.s3 import S3Storage  # type: ignore[import-not-found, import-untyped, unused-ignore]

    class S3ffUpload(models.Model):
        """One file uploaded with django-s3-file-field, to the bucket the app uses."""

        blob = S3FileField(
            storage=S3Storage(
                bucket_name=conf.bucket(),
                endpoint_url=str(conf.get("AWS_S3_ENDPOINT_URL")) or None,
                access_key=str(conf.get("AWS_ACCESS_KEY_ID")),
                secret_key=str(conf.get("AWS_SECRET_ACCESS_KEY")),
                region_name=str(conf.get("AWS_DEFAULT_REGION")),
                addressing_style="path",
                signature_version="s3v4",
            )
        )

        class Meta:
            app_label = "bench"

        def __str__(self) -> str:
            return str(self.blob)
