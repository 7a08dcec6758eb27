"""Metadata and streamed download through the Python client (contract §5, v2)."""

import io

import pytest

from cloud_connector import NotAFile, PathNotFound, RangeNotSatisfiable


@pytest.fixture
def client(connector, user_id, connect, stack):
    user = connector.for_user(user_id)
    connect(user, stack.account_id("alice"))
    return user


def test_metadata_of_a_file_a_folder_and_the_root(client):
    notes = client.metadata("Office/notes.txt")
    assert (notes.type, notes.name, notes.path, notes.size) == ("file", "notes.txt", "Office/notes.txt", 512)
    assert notes.content_hash and notes.rev and notes.modified_at is not None
    assert client.metadata("Office").is_folder
    root = client.metadata("")
    assert (root.type, root.path) == ("folder", "")
    with pytest.raises(PathNotFound) as raised:
        client.metadata("Office/missing.txt")
    assert raised.value.status == 404


def test_a_download_streams_in_chunks_with_its_entry(client):
    with client.download("Photos/beach.jpg", chunk_size=64 * 1024) as download:
        assert download.status == 200
        assert download.entry is not None and download.entry.name == "beach.jpg"
        assert download.content_length == 2_097_152
        assert download.etag == f'"{download.entry.content_hash}"'
        sizes = [len(chunk) for chunk in download]
    assert sum(sizes) == download.bytes_read == 2_097_152
    assert len(sizes) > 1 and max(sizes) <= 64 * 1024


def test_a_byte_range_is_a_206_with_those_bytes(client):
    whole = io.BytesIO()
    assert client.download("Office/notes.txt").write_to(whole) == 512
    with client.download("Office/notes.txt", byte_range=(10, 19)) as part:
        assert part.status == 206
        assert part.content_range == "bytes 10-19/512"
        assert b"".join(part) == whole.getvalue()[10:20]
    with client.download("Office/notes.txt", byte_range=(500, None)) as tail:
        assert b"".join(tail) == whole.getvalue()[500:]


def test_download_errors_are_their_classes(client):
    with pytest.raises(NotAFile) as raised:
        client.download("Office")
    assert raised.value.status == 409
    with pytest.raises(PathNotFound):
        client.download("Office/missing.txt")
    with pytest.raises(ValueError):
        client.download("Office/notes.txt", byte_range=(5, 1))
    with pytest.raises(RangeNotSatisfiable) as unsatisfiable:
        client.download("Office/notes.txt", byte_range=(600, 700))
    assert (unsatisfiable.value.status, unsatisfiable.value.code) == (416, "range_not_satisfiable")
    assert unsatisfiable.value.size == 512
