"""Slip signing keys: rotate, revoke, and a revoked key refused at every gate.

The gate trusts the keys in its own key folder (put there at install) and the keys the
office publishes through the replica; a key the office revokes must be refused from the
gate's next pull on, even while its file still lies in the gate's folder.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from domain.hours import LargeItemHours
from domain.keyfiles import load_public_dir
from domain.reasons import Reason
from domain.slip_token import verify
from kiosk.resolve import Resolver
from kiosk.store import Replica
from office.errors import Refused
from office.records import revoke_key
from tests.office.harness import GateSite, OfficeServer
from tests.office.test_commands import run, site, slip_args  # noqa: F401  (site: the CLI tests' office folder, a fixture)

APPROVED = ("--approve", "handler=李", "--approve", "butler_head=王")


def test_a_revoked_key_is_refused_at_the_next_pull_even_from_the_gates_own_key_folder(
        office: OfficeServer, tmp_path: Path) -> None:
    issued = office.issued_slip()
    gate = GateSite(tmp_path, "north", office)
    installed = gate.dir / "keys"
    shutil.copytree(office.cfg.keys, installed, ignore=shutil.ignore_patterns("*.key"))   # public keys only
    daemon = gate.daemon()
    replica = Replica.open(gate.replica_path)
    resolver = Resolver(replica, None, LargeItemHours(), load_public_dir(installed))
    try:
        daemon.pull()
        assert resolver.slip(issued.token).token_reason is None       # a good slip, before

        key_id = verify(issued.token, load_public_dir(installed), estate="default").claims.key_id
        with office.engine.begin() as conn:
            revoke_key(conn, "default", key_id)
        daemon.pull()
        evidence = resolver.slip(issued.token)
        assert evidence.token_reason is Reason.SLIP_KEY_REVOKED
        assert key_id in load_public_dir(installed)                   # the file is still there: refused anyway
    finally:
        daemon.close()
    with pytest.raises(Refused, match="rotate-key"):                  # and the office will not sign with it
        office.issued_slip()


def test_rotate_then_revoke_from_the_command_line(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run("keys") == 0
    (first,) = re.findall(r"^([0-9a-f]{8})  trusted  \(signs new slips\)$", capsys.readouterr().out, re.M)

    assert run("rotate-key") == 0
    out = capsys.readouterr().out
    (second,) = re.findall(r"new signing key ([0-9a-f]{8}) published", out)
    assert second != first and f"old key {first} still trusted" in out
    assert run("keys") == 0
    listing = capsys.readouterr().out
    assert f"{first}  trusted\n" in listing and f"{second}  trusted  (signs new slips)" in listing
    assert not (site / "keys" / "default" / "signing.key.new").exists()
    assert oct((site / "keys" / "default" / "signing.key").stat().st_mode & 0o777) == "0o600"

    assert run("revoke-key", first) == 0
    assert run("keys") == 0
    assert f"{first}  REVOKED" in capsys.readouterr().out
    assert run("revoke-key", first) == 2
    assert "already revoked" in capsys.readouterr().err
    assert run("revoke-key", "0badc0de") == 2
    assert "no signing key '0badc0de'" in capsys.readouterr().err

    assert run(*slip_args(*APPROVED)) == 0                            # new slips: the new key
    assert run("rotate-key", "--revoke-old") == 0
    assert f"old key {second} revoked" in capsys.readouterr().out
    assert run(*slip_args(*APPROVED)) == 0


def test_a_revoked_signing_key_stops_the_office_signing(site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert run("keys") == 0
    (kid,) = re.findall(r"^([0-9a-f]{8})  trusted", capsys.readouterr().out, re.M)
    assert run("revoke-key", kid) == 0
    assert run(*slip_args(*APPROVED)) == 2
    assert "is revoked: run `gatepass office rotate-key`" in capsys.readouterr().err
    assert not (site / "slips").exists()
