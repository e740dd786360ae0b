"""Reading what exports wrote, and uploading what imports take."""

import csv
import io
import json

from django.core.files.uploadedfile import SimpleUploadedFile


def upload(content, name="issues.jsonl"):
    if isinstance(content, str):
        content = content.encode()
    return SimpleUploadedFile(name, content, content_type="application/octet-stream")


def jsonl(records) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def download(client, export_url) -> bytes:
    """The file of a finished export, through its download link (without credentials)."""
    answer = client.get(export_url).json()
    assert answer["status"] == "done", answer
    from rest_framework.test import APIClient

    response = APIClient().get(answer["download_url"])
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content)


def read_jsonl(content: bytes) -> list[dict]:
    return [json.loads(line) for line in content.decode().splitlines() if line]


def read_csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))
