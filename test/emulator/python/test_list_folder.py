"""files/list_folder(+/continue), with and without Dropbox-API-Path-Root, and their errors."""

import pytest
from dropbox.common import PathRoot
from dropbox.exceptions import ApiError, BadInputError, PathRootError
from dropbox.files import DeletedMetadata, FileMetadata, FolderMetadata


@pytest.fixture(scope='module')
def alice(emulator):
    return emulator.client(emulator.connect(emulator.account_id('alice@example.com')))


@pytest.fixture(scope='module')
def carol(emulator):
    return emulator.client(emulator.connect(emulator.account_id('carol@example.com')))


def list_all(client, path, **options):
    page = client.files_list_folder(path, **options)
    entries = list(page.entries)
    while page.has_more:
        page = client.files_list_folder_continue(page.cursor)
        entries += page.entries
    return entries, page.cursor


def test_the_root_folder(alice):
    page = alice.files_list_folder('')

    assert not page.has_more
    names = {entry.name: type(entry) for entry in page.entries}
    assert names == {
        'Office': FolderMetadata,
        'Office10': FolderMetadata,
        'Photos': FolderMetadata,
        'Big': FolderMetadata,
    }


def test_files_carry_every_field_the_sdk_requires(alice):
    page = alice.files_list_folder('/Office/Reports')

    (report,) = page.entries
    assert isinstance(report, FileMetadata)
    assert (report.path_display, report.size) == ('/Office/Reports/Q1.pdf', 248_113)
    assert report.id.startswith('id:') and len(report.content_hash) == 64
    assert report.server_modified.year == 2024 and report.is_downloadable


def test_500_files_in_pages_of_100(alice):
    first = alice.files_list_folder('/Big', limit=100)
    assert first.has_more and len(first.entries) == 100

    entries, _ = list_all(alice, '/Big', limit=100)
    assert len(entries) == 500
    assert all(isinstance(entry, FileMetadata) for entry in entries)
    assert len({entry.id for entry in entries}) == 500


def test_a_recursive_listing_of_509_entries(alice):
    entries, _ = list_all(alice, '', recursive=True, limit=200)

    assert len(entries) == 509
    assert len({entry.path_lower for entry in entries}) == 509


def test_by_id_and_by_namespace(alice):
    office = next(e for e in alice.files_list_folder('').entries if e.name == 'Office')
    by_id = alice.files_list_folder(office.id)
    home = alice.users_get_current_account().root_info.home_namespace_id
    by_namespace = alice.files_list_folder(f'ns:{home}/Office')

    assert sorted(e.name for e in by_id.entries) == ['Reports', 'notes.txt']
    assert sorted(e.name for e in by_namespace.entries) == ['Reports', 'notes.txt']


def test_changes_after_the_listing_come_through_continue(emulator):
    account_id = emulator.seed_account(
        'hana', files=[{'path': '/Work/a.txt', 'type': 'file'}, {'path': '/Work/b.txt', 'type': 'file'}]
    )
    client = emulator.client(emulator.connect(account_id))
    _, cursor = list_all(client, '/Work')
    emulator.control('add-files', accountId=account_id, files=[{'path': '/Work/c.txt', 'type': 'file', 'size': 3}])
    emulator.control('delete-file', accountId=account_id, path='/Work/a.txt')

    changes = client.files_list_folder_continue(cursor)

    kinds = {entry.name: type(entry) for entry in changes.entries}
    assert kinds == {'c.txt': FileMetadata, 'a.txt': DeletedMetadata}


def test_include_deleted_lists_deleted_entries(emulator):
    account_id = emulator.seed_account('ines', files=[{'path': '/Old/x.txt', 'type': 'file'}])
    emulator.control('delete-file', accountId=account_id, path='/Old/x.txt')
    client = emulator.client(emulator.connect(account_id))

    (entry,) = client.files_list_folder('/Old', include_deleted=True).entries
    assert isinstance(entry, DeletedMetadata) and entry.name == 'x.txt'
    assert client.files_list_folder('/Old').entries == []


@pytest.mark.parametrize(
    ('path', 'tag'),
    [('/Nope', 'not_found'), ('/Office/notes.txt', 'not_folder'), ('/Office//Reports', 'malformed_path')],
)
def test_path_errors_are_api_errors(alice, path, tag):
    with pytest.raises(ApiError) as raised:
        alice.files_list_folder(path)

    error = raised.value.error
    assert error.is_path() and getattr(error.get_path(), f'is_{tag}')()
    assert raised.value.user_message_text is None


def test_the_root_as_a_slash_is_bad_input(alice):
    with pytest.raises(BadInputError) as raised:
        alice.files_list_folder('/')
    assert 'Specify the root folder as an empty string' in raised.value.message


def test_a_cursor_dropbox_never_issued_is_bad_input(alice):
    with pytest.raises(BadInputError) as raised:
        alice.files_list_folder_continue('AAAAnot-a-cursor')
    assert 'cursor' in raised.value.message


def test_reset_cursors_answer_reset(emulator):
    account_id = emulator.seed_account('jo', files=[{'path': '/A/a.txt', 'type': 'file'}])
    client = emulator.client(emulator.connect(account_id))
    cursor = client.files_list_folder('/A').cursor
    emulator.control('reset-cursors', accountId=account_id)

    with pytest.raises(ApiError) as raised:
        client.files_list_folder_continue(cursor)
    assert raised.value.error.is_reset()


def test_a_listed_folder_deleted_later_is_not_found_on_continue(emulator):
    account_id = emulator.seed_account('kim', files=[{'path': '/Gone/a.txt', 'type': 'file'}])
    client = emulator.client(emulator.connect(account_id))
    cursor = client.files_list_folder('/Gone').cursor
    emulator.control('delete-file', accountId=account_id, path='/Gone')

    with pytest.raises(ApiError) as raised:
        client.files_list_folder_continue(cursor)
    assert raised.value.error.is_path() and raised.value.error.get_path().is_not_found()


def test_team_space_without_the_header_lists_the_home(carol):
    assert [e.name for e in carol.files_list_folder('').entries] == ['Office']


def test_team_space_with_the_root_header_lists_the_team_root(carol):
    root_info = carol.users_get_current_account().root_info
    at_root = carol.with_path_root(PathRoot.root(root_info.root_namespace_id))

    entries, cursor = list_all(at_root, '')
    assert {e.name for e in entries} == {'Carol Team', 'Team Projects'}
    assert [e.name for e in at_root.files_list_folder('/Carol Team/Office').entries] == ['carol.txt']
    assert at_root.files_list_folder_continue(cursor).entries == []


def test_the_home_and_namespace_id_headers(carol):
    root_info = carol.users_get_current_account().root_info
    home = carol.with_path_root(PathRoot.home)
    by_id = carol.with_path_root(PathRoot.namespace_id(root_info.home_namespace_id))

    assert [e.name for e in home.files_list_folder('').entries] == ['Office']
    assert [e.name for e in by_id.files_list_folder('').entries] == ['Office']


def test_a_wrong_root_is_invalid_root_with_the_real_one(carol):
    root_info = carol.users_get_current_account().root_info
    wrong = carol.with_path_root(PathRoot.root(root_info.home_namespace_id))

    with pytest.raises(PathRootError) as raised:
        wrong.files_list_folder('')
    assert raised.value.error.is_invalid_root()
    told = raised.value.error.get_invalid_root()
    assert type(told).__name__ == 'TeamRootInfo'
    assert (told.root_namespace_id, told.home_path) == (root_info.root_namespace_id, '/Carol Team')


def test_a_namespace_of_someone_else_is_no_permission(alice, carol):
    alices_home = alice.users_get_current_account().root_info.home_namespace_id
    foreign = carol.with_path_root(PathRoot.namespace_id(alices_home))

    with pytest.raises(PathRootError) as raised:
        foreign.files_list_folder('')
    assert raised.value.error.is_no_permission()
