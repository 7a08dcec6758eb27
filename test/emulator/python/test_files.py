"""files/get_metadata (API host) and files/download (content host, Range), and their errors."""

import hashlib

import pytest
import requests
from dropbox.common import PathRoot
from dropbox.exceptions import ApiError, AuthError, HttpError, InternalServerError, RateLimitError
from dropbox.files import DeletedMetadata, FileMetadata, FolderMetadata

READ = ['account_info.read', 'files.metadata.read', 'files.content.read']
DOWNLOAD = '/2/files/download'
BLOCK = 4 * 1024 * 1024


def dropbox_content_hash(data):
    """Dropbox's content_hash: SHA-256 over the SHA-256 digests of each 4 MiB block."""
    digests = b''.join(hashlib.sha256(data[i : i + BLOCK]).digest() for i in range(0, len(data), BLOCK))
    return hashlib.sha256(digests).hexdigest()


@pytest.fixture(scope='module')
def alice(emulator):
    return emulator.client(emulator.connect(emulator.account_id('alice@example.com'), scope=READ))


def test_metadata_of_a_file_a_folder_and_by_id(alice):
    report = alice.files_get_metadata('/Office/Reports/Q1.pdf')
    folder = alice.files_get_metadata('/office/REPORTS')

    assert isinstance(report, FileMetadata) and report.size == 248_113
    assert isinstance(folder, FolderMetadata) and folder.name == 'Reports'
    assert alice.files_get_metadata(report.id) == report
    listed = next(e for e in alice.files_list_folder('/Office/Reports').entries)
    assert listed == report


def test_metadata_of_a_deleted_file_is_deleted_metadata_when_asked(emulator):
    account_id = emulator.seed_account('lea', files=[{'path': '/Old/x.txt', 'type': 'file'}])
    emulator.control('delete-file', accountId=account_id, path='/Old/x.txt')
    client = emulator.client(emulator.connect(account_id, scope=READ))

    with pytest.raises(ApiError) as raised:
        client.files_get_metadata('/Old/x.txt')
    assert raised.value.error.get_path().is_not_found()
    deleted = client.files_get_metadata('/Old/x.txt', include_deleted=True)
    assert isinstance(deleted, DeletedMetadata) and deleted.path_lower == '/old/x.txt'


@pytest.mark.parametrize('path', ['/Nope.txt', '/Office/notes.txt/child', 'rev:0123456789abcdef'])
def test_metadata_of_nothing_is_not_found(alice, path):
    with pytest.raises(ApiError) as raised:
        alice.files_get_metadata(path)
    assert raised.value.error.is_path() and raised.value.error.get_path().is_not_found()


def test_metadata_needs_its_scope(emulator):
    narrow = emulator.connect(emulator.account_id('bob@example.com'), scope=['account_info.read'])

    with pytest.raises(AuthError) as raised:
        emulator.client(narrow).files_get_metadata('/Readme.md')
    assert raised.value.error.get_missing_scope().required_scope == 'files.metadata.read'


def test_a_download_goes_to_the_content_host_with_its_metadata(emulator, alice):
    emulator.adapter.calls.clear()
    metadata, response = alice.files_download('/Office/notes.txt')

    assert emulator.adapter.calls == [('content.dropboxapi.com', DOWNLOAD)]
    assert metadata == alice.files_get_metadata('/Office/notes.txt')
    data = response.content
    assert len(data) == metadata.size == 512
    assert dropbox_content_hash(data) == metadata.content_hash


def test_the_content_hash_covers_several_4_mib_blocks(alice):
    metadata, response = alice.files_download('/Photos/beach.jpg')

    data = response.content
    assert len(data) == metadata.size == 2_097_152
    assert dropbox_content_hash(data) == metadata.content_hash


def test_download_to_a_file(alice, tmp_path):
    target = tmp_path / 'Q1.pdf'
    metadata = alice.files_download_to_file(str(target), '/Office/Reports/Q1.pdf')

    assert target.stat().st_size == metadata.size == 248_113


def test_a_download_by_rev_and_a_rev_that_is_not_there(alice):
    metadata = alice.files_get_metadata('/Office/notes.txt')

    assert alice.files_download('/Office/notes.txt', rev=metadata.rev)[0] == metadata
    with pytest.raises(ApiError) as raised:
        alice.files_download('/Office/notes.txt', rev='0' * 9)
    assert raised.value.error.get_path().is_not_found()


@pytest.mark.parametrize(
    ('header', 'piece'),
    [('bytes=10-19', slice(10, 20)), ('bytes=500-', slice(500, 512)), ('bytes=-5', slice(507, 512))],
)
def test_a_range_through_the_sdk_headers(alice, header, piece):
    _, whole = alice.files_download('/Office/notes.txt')
    ranged = alice.clone(headers={'Range': header})

    metadata, response = ranged.files_download('/Office/notes.txt')

    assert response.status_code == 206
    assert response.content == whole.content[piece]
    assert metadata.size == 512
    assert response.headers['content-range'].endswith('/512')


def test_a_range_past_the_end_is_416(alice):
    with pytest.raises(HttpError) as raised:
        alice.clone(headers={'Range': 'bytes=512-'}).files_download('/Office/notes.txt')
    assert raised.value.status_code == 416


def test_download_errors(alice):
    with pytest.raises(ApiError) as raised:
        alice.files_download('/Nope.txt')
    assert raised.value.error.get_path().is_not_found()
    with pytest.raises(ApiError) as raised:
        alice.files_download('/Office')
    assert raised.value.error.get_path().is_not_file()


def test_download_needs_files_content_read(emulator):
    client = emulator.client(emulator.connect(emulator.account_id('bob@example.com')))

    with pytest.raises(AuthError) as raised:
        client.files_download('/Readme.md')
    assert raised.value.error.is_missing_scope()
    assert raised.value.error.get_missing_scope().required_scope == 'files.content.read'


def test_a_team_file_through_the_root_header(emulator):
    client = emulator.client(
        emulator.connect(emulator.account_id('carol@example.com'), scope=READ)
    )
    root = client.users_get_current_account().root_info.root_namespace_id
    at_root = client.with_path_root(PathRoot.root(root))

    metadata, response = at_root.files_download('/Team Projects/Plan.docx')
    assert len(response.content) == metadata.size == 18_000
    assert at_root.files_get_metadata('/Carol Team/Office/carol.txt').size == 77
    with pytest.raises(ApiError):
        client.files_get_metadata('/Team Projects/Plan.docx')


def test_download_faults(emulator, alice):
    emulator.inject_fault(DOWNLOAD, {'kind': 'rate_limit', 'retryAfter': 2, 'body': 'json'})
    with pytest.raises(RateLimitError) as raised:
        alice.files_download('/Office/notes.txt')
    assert raised.value.backoff == 2

    emulator.inject_fault(DOWNLOAD, {'kind': 'status', 'status': 503})
    with pytest.raises(InternalServerError):
        alice.files_download('/Office/notes.txt')

    emulator.inject_fault(DOWNLOAD, {'kind': 'reset_mid_body', 'afterBytes': 100_000})
    metadata, response = alice.files_download('/Photos/beach.jpg')
    assert metadata.size == 2_097_152
    # The body stops short of its Content-Length: requests raises on reading it.
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        response.content
