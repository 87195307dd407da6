"""The gate credential's one definition (domain/credential.py): what the office writes, the gate reads."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.credential import GateCredential, parse_credential

SECRET = "ab" * 32


def test_a_credential_names_its_estate_and_gate_and_reads_back() -> None:
    cred = GateCredential("west", "north", SECRET)
    assert cred.text() == f"west/north.{SECRET}"
    assert parse_credential(cred.text() + "\n") == cred


def test_a_credential_of_the_old_form_names_no_estate() -> None:
    assert parse_credential(f"north.{SECRET}") == GateCredential("", "north", SECRET)


@pytest.mark.parametrize("text", ["", "north", "north.", f".{SECRET}", f"/north.{SECRET}", f"West/north.{SECRET}",
                                  f"west/NORTH.{SECRET}", f"west/toolong.{SECRET}", "west/north.x y", "west/north.秘密",
                                  f"a/b/north.{SECRET}"])
def test_what_is_no_credential_is_refused(text: str) -> None:
    assert parse_credential(text) is None


@given(st.text(max_size=200))
def test_parsing_never_raises(text: str) -> None:
    parse_credential(text)
