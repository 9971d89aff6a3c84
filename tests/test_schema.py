"""The OpenAPI schema, and Schemathesis checking the live API against it: no 5xx, and every
answer's status, content type, headers and body as the schema says."""

import collections
import itertools
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.media import media_bytes
from tests.support.uploads import send, token_client

pytestmark = [pytest.mark.functional, pytest.mark.django_db(transaction=True)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CASES_PER_OPERATION = 30
generated: list[str] = []


@pytest.fixture
def api_schema(live_server, bucket, user, settings) -> Any:
    """The schema the live app serves, with a few real records for paths to name."""
    settings.UPLOAD_MULTIPART_THRESHOLD = 1024**2
    client = token_client(user)
    records = [send(client, media_bytes("video/mp4", 2048))["id"] for _ in range(2)]
    records.append(
        client.post(
            "/api/media/", {"filename": "big.mp4", "content_type": "video/mp4", "size": 6 * 1024**2}
        ).json()["id"]
    )
    client.post(f"/api/media/{records[0]}/complete/")
    token = f"Token {Token.objects.get(user=user).key}"
    schema = schemathesis.openapi.from_url(
        f"{live_server.url}/api/schema/?format=json", headers={"Authorization": token}
    )

    real_ids[:] = records
    schema.config.headers = {"Authorization": token}
    return schema


real_ids: list[str] = []
_turns = itertools.count()


@schemathesis.hook
def map_path_parameters(ctx: Any, path_parameters: dict[str, Any]) -> dict[str, Any]:
    """Name one of the user's real records in most cases, so more than 404s get checked."""
    turn = next(_turns)
    deleting = ctx.operation is not None and ctx.operation.method.upper() == "DELETE"
    if real_ids and path_parameters and "id" in path_parameters and turn % 4 and not deleting:
        path_parameters["id"] = real_ids[turn % len(real_ids)]
    return path_parameters


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=CASES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_the_api_keeps_its_schema(case: Any, api_schema: Any) -> None:
    response = case.call_and_validate(headers=api_schema.config.headers, checks=CHECKS)
    generated.append(f"{case.method} {case.formatted_path} {response.status_code}")


def test_calls_on_real_records_keep_the_schema(api_schema: Any) -> None:
    """Every operation on each kind of real record (uploaded, pending POST, pending multipart)."""
    statuses = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    # DELETE last: it takes the records away.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    for operation in operations:
        if "{id}" not in operation.path:
            continue
        for media_id in real_ids:
            case = operation.Case(path_parameters={"id": media_id})
            if operation.method.upper() == "POST" and operation.path.endswith("/parts/"):
                case.body = {"part_numbers": [1, 2]}
            response = case.call_and_validate(headers=api_schema.config.headers, checks=CHECKS)
            statuses.append(response.status_code)
            generated.append(f"{case.method} {case.formatted_path} {response.status_code}")
    assert 200 in statuses and 409 in statuses


def test_the_schema_describes_every_operation_and_the_upload_union(client, user):
    client.force_login(user)
    document = client.get("/api/schema/?format=json").json()
    operations = {
        f"{method.upper()} {path}" for path, item in document["paths"].items() for method in item
    }
    assert operations == {
        "GET /api/media/",
        "POST /api/media/",
        "GET /api/media/{id}/",
        "DELETE /api/media/{id}/",
        "POST /api/media/{id}/abort/",
        "POST /api/media/{id}/authorize/",
        "POST /api/media/{id}/complete/",
        "POST /api/media/{id}/field-value/",
        "GET /api/media/{id}/parts/",
        "POST /api/media/{id}/parts/",
        "POST /api/s3-events/",
    }
    upload = document["components"]["schemas"]["Upload"]
    assert upload["discriminator"]["mapping"] == {
        "post": "#/components/schemas/PostUpload",
        "multipart": "#/components/schemas/MultipartUpload",
    }
    create = document["paths"]["/api/media/"]["post"]["responses"]
    assert {"201", "400", "401", "429", "503"} <= set(create)


def test_the_docs_page_is_served_from_local_files(client, user):
    client.force_login(user)
    page = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "https://" not in page
    assert client.get("/api/schema/").status_code == 200
    client.logout()
    assert client.get("/api/schema/").status_code in (401, 403)


def test_generated_cases_are_counted() -> None:
    """Report how many cases Schemathesis sent (runs after the generated tests in this module)."""
    answers = collections.Counter(line.rsplit(" ", 1)[-1] for line in generated)
    print(f"\nSchemathesis sent {len(generated)} cases; answers by status: {dict(answers)}")
