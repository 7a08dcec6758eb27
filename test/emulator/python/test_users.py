"""users/get_current_account for personal and team-space accounts: every FullAccount validates."""

import pytest
from dropbox.common import PathRoot
from dropbox.exceptions import PathRootError

PEOPLE = [
    ('alice@example.com', 'Alice Example', 'US'),
    ('bob@example.com', 'Bob Example', 'US'),
    ('dave@example.com', 'Dave Example', 'GB'),
]


@pytest.mark.parametrize(('email', 'display_name', 'country'), PEOPLE)
def test_a_personal_account(emulator, email, display_name, country):
    account_id = emulator.account_id(email)
    client = emulator.client(emulator.connect(account_id))

    account = client.users_get_current_account()

    assert account.account_id == account_id and len(account_id) == 40
    assert (account.email, account.name.display_name, account.country) == (
        email,
        display_name,
        country,
    )
    assert account.email_verified and not account.disabled
    assert account.account_type.is_basic()
    assert account.team is None and account.team_member_id is None
    assert account.root_info.root_namespace_id == account.root_info.home_namespace_id
    assert type(account.root_info).__name__ == 'UserRootInfo'


def test_a_team_space_account(emulator):
    carol = emulator.account_id('carol@example.com')
    client = emulator.client(emulator.connect(carol))

    account = client.users_get_current_account()

    assert account.account_id == carol
    assert account.name.display_name == 'Carol Example' and account.locale == 'de'
    assert account.account_type.is_business()
    assert account.team.name == 'Example Team'
    assert account.team.id.startswith('dbtid:') and len(account.team.id) == 41
    assert account.team_member_id.startswith('dbmid:') and len(account.team_member_id) == 41
    assert account.team.sharing_policies.shared_folder_member_policy.is_anyone()
    assert type(account.root_info).__name__ == 'TeamRootInfo'
    assert account.root_info.home_path == '/Carol Team'
    assert account.root_info.root_namespace_id != account.root_info.home_namespace_id


def test_a_second_member_of_the_same_team(emulator):
    carol = emulator.client(emulator.connect(emulator.account_id('carol@example.com')))
    carols = carol.users_get_current_account()
    erin = emulator.seed_account(
        'erin',
        team={
            'id': carols.team.id,
            'name': carols.team.name,
            'rootNamespaceId': carols.root_info.root_namespace_id,
            'homePath': '/Erin Example',
        },
    )

    account = emulator.client(emulator.connect(erin)).users_get_current_account()

    assert account.team.id == carols.team.id
    assert account.team_member_id != carols.team_member_id
    assert len(account.team_member_id) == 41
    assert account.root_info.root_namespace_id == carols.root_info.root_namespace_id


def test_joining_a_team_space_moves_the_root(emulator):
    account_id = emulator.seed_account('gina')
    client = emulator.client(emulator.connect(account_id))
    before = client.users_get_current_account().root_info
    emulator.control('migrate-to-team', accountId=account_id)

    after = client.users_get_current_account()

    assert after.account_type.is_business() and type(after.root_info).__name__ == 'TeamRootInfo'
    assert after.root_info.home_namespace_id == before.home_namespace_id
    assert len(after.team_member_id) == 41 and len(after.team.id) == 41
    # The old root id: 422 invalid_root carrying the new root, as a PathRootError.
    stale = client.with_path_root(PathRoot.root(before.root_namespace_id))
    with pytest.raises(PathRootError) as raised:
        stale.users_get_current_account()
    assert raised.value.error.is_invalid_root()
    assert raised.value.error.get_invalid_root().root_namespace_id == (
        after.root_info.root_namespace_id
    )
