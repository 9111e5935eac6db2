"""What people type differently about one person is made the same (voting/matching.py), and the
match key built from it (voting/crypto.py) tells one person from another."""

import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voting import crypto, matching

BORN = date(1980, 5, 5)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("12 ELM STREET Apt 3", "12 Elm St, apt. 3"),
        ("12 Elm St #3", "12 elm st unit 3"),
        ("12 Elm Street Apartment 3", "  12   Elm  St  Apt #3 "),
        ("12 Elm St", "12 Elm St., Springfield, NY 10001"),  # city, state and ZIP left out: one city
        ("12 North Elm Avenue", "12 N. Elm Ave"),
        ("12 Élm St", "12 Elm Street"),
        ("12 Elm St", "12 Elm Street, Apt 3"),  # the unit given on one channel, left out on another
        ("12 Elm St Apt 3", "12 Elm St Apt 4"),  # the unit never counts: name and birth tell people apart
    ],
)
def test_addresses_typed_differently_are_one_address(one, other):
    assert matching.address_normalize(one) == matching.address_normalize(other) != ""


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("12 Elm St", "14 Elm St"),
        ("12 Elm St", "12 Elm Ave"),
        ("12 N Elm St", "12 S Elm St"),
    ],
)
def test_different_addresses_stay_different(one, other):
    assert matching.address_normalize(one) != matching.address_normalize(other)


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("José Núñez", "Jose Nunez"),
        ("  ALICE   example ", "Alice Example"),
        ("Mary-Ann O'Brien", "mary ann obrien"),
        ("Example, Alice", "Alice Example"),
    ],
)
def test_names_typed_differently_are_one_name(one, other):
    assert matching.name_normalize(one) == matching.name_normalize(other) != ""


def test_an_address_the_parser_cannot_read_is_compared_as_typed():
    assert (
        matching.address_normalize("Calle Ñandú 5") == matching.address_normalize("calle nandu, 5") == "calle nandu 5"
    )
    assert matching.address_normalize(" ,.- ") == "" and matching.name_normalize("—") == ""


def test_the_match_key_is_keyed_and_the_same_for_the_same_person_only():
    alice = crypto.match_key(name="José Example", date_of_birth=BORN, address="12 ELM STREET Apt 3")
    assert alice == crypto.match_key(name="jose  example", date_of_birth=BORN, address="12 Elm St, apt. 3")
    assert len(alice) == 64 and "elm" not in alice
    assert alice != crypto.match_key(name="Bob Example", date_of_birth=BORN, address="12 Elm St Apt 3")
    assert alice != crypto.match_key(name="José Example", date_of_birth=date(1980, 5, 6), address="12 Elm St Apt 3")
    assert crypto.match_key(name="", date_of_birth=BORN, address="12 Elm St") == ""
    assert crypto.match_key(name="Alice", date_of_birth=None, address="12 Elm St") == ""


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_any_text_normalises_to_plain_words_without_an_error(text):
    for normalised in (matching.address_normalize(text), matching.name_normalize(text)):
        assert re.fullmatch(r"([a-z0-9]+( [a-z0-9]+)*)?", normalised)
