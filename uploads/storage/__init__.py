"""The only package that talks to S3 (and imports boto3).

botocore's errors never leave it; callers see `ObjectNotFound`, `ObjectChanged`, `PartsRefused`,
`StorageUnavailable` (`ClockSkewed`: this server's clock is too far off S3's) or `StorageError`.
"""

from uploads.storage.bucket import (
    access_problem,
    configure_bucket,
    cors_configuration,
    lifecycle_rules,
    our_rules,
)
from uploads.storage.client import (
    ClockSkewed,
    ObjectChanged,
    ObjectNotFound,
    PartsRefused,
    StorageError,
    StorageUnavailable,
    credentials_found,
    get_client,
)
from uploads.storage.multipart import (
    OpenUpload,
    PartInfo,
    abort_multipart_upload,
    complete_multipart_upload,
    create_multipart_upload,
    list_multipart_uploads,
    list_parts,
    presign_upload_parts,
)
from uploads.storage.objects import (
    ObjectInfo,
    PresignedPost,
    StoredObject,
    bucket_origin,
    copy_object,
    delete_object,
    head_object,
    list_objects,
    presign_download,
    presign_post,
    presign_put,
    read_start,
)

__all__ = [
    "ClockSkewed",
    "ObjectChanged",
    "ObjectInfo",
    "ObjectNotFound",
    "OpenUpload",
    "PartInfo",
    "PartsRefused",
    "PresignedPost",
    "StorageError",
    "StorageUnavailable",
    "StoredObject",
    "abort_multipart_upload",
    "access_problem",
    "bucket_origin",
    "complete_multipart_upload",
    "configure_bucket",
    "copy_object",
    "cors_configuration",
    "create_multipart_upload",
    "credentials_found",
    "delete_object",
    "get_client",
    "head_object",
    "lifecycle_rules",
    "list_multipart_uploads",
    "list_objects",
    "list_parts",
    "our_rules",
    "presign_download",
    "presign_post",
    "presign_put",
    "presign_upload_parts",
    "read_start",
]
