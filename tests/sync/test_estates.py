"""Two estates run from one office, set up from the CLI as a property company would: each has
its own signing key and a gate named "north". A slip of west is refused at default's north
(slip.other_estate) and released at west's; each gate's credential reaches only its own
estate and gate. Real office on loopback (SQLite file, and PostgreSQL with GATEPASS_PG_URL),
real sync daemons, real replicas, `gatepass check` as the gate decides.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.clock import SystemClock
from kiosk.cli import main as gatepass
from kiosk.store import Replica
from office import schema
from office.__main__ import main as office_main
from office.cli_support import office_config
from office.server import ThreadedServer, build
from tests.office.conftest import BACKENDS, PG_URL, _wipe
from tests.office.harness import GateSite

#: When the slips are presented: a working morning within their window and large-item hours.
AT = "2026-12-01T10:00:00+08:00"
APPROVED = ("--approve", "handler=李", "--approve", "butler_head=王")


@dataclass
class Site:
    dir: Path
    url: str
    engine: Any

    def office(self, *argv: str) -> int:
        return office_main([argv[0], "--config", str(self.dir / "office.toml"), *argv[1:]], clock=SystemClock())


@pytest.fixture(params=BACKENDS)
def site(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    if request.param == "postgresql":
        _wipe(PG_URL)
        url = PG_URL
    else:
        url = f"sqlite:///{tmp_path / 'office.db'}"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "office.toml").write_text(f'keys = "keys"\nslips_dir = "slips"\n[database]\nurl = "{url}"\n')
    s = Site(tmp_path, "", None)
    # The property company's set-up, as docs/install.md tells it, for two estates:
    for estate in ("default", "west"):
        assert s.office("init", "--estate", estate) == 0
        assert s.office("add-unit", "3-2-1502", "--estate", estate) == 0
        assert s.office("add-gate", "north", "--estate", estate, "--credential-file", f"{estate}-north.credential") == 0
    cfg = office_config(_Args(str(tmp_path / "office.toml")))
    app, engine = build(cfg)
    server = ThreadedServer(app)
    server.start()
    s.url, s.engine = server.url, engine
    yield s
    server.stop()
    engine.dispose()


@dataclass
class _Args:
    config: str
    estate: str | None = None


def gate_of(site: Site, estate: str) -> GateSite:
    credential = (site.dir / f"{estate}-north.credential").read_text().strip()
    return GateSite(site.dir / f"gate-{estate}", "north", _Url(site.url), credential=credential)


@dataclass
class _Url:
    url: str


def synced(gate: GateSite) -> Replica:
    daemon = gate.daemon()
    try:
        assert daemon.run_once()
    finally:
        daemon.close()
    return Replica.open(gate.replica_path)


def check(gate: GateSite, slip_png: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    gatepass(["check", "--db", str(gate.replica_path), "--slip-image", str(slip_png), "--gate", "north", "--json",
              "--at", AT])
    return json.loads(capsys.readouterr().out)


def issue(site: Site, estate: str) -> Path:
    out = site.dir / f"slips-{estate}"
    assert site.office("issue-slip", "--estate", estate, "--unit", "3-2-1502", "--kind", "owner", "--applicant", "张三",
                       "--item", "冰箱:1:180cm", *APPROVED, "--from", "2026-12-01", "--until", "2026-12-02", "--out", str(out)) == 0
    (png,) = out.glob("*.png")
    return png


def test_a_slip_of_one_estate_is_refused_at_the_other_estates_gate_of_the_same_name(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    west_slip, default_slip = issue(site, "west"), issue(site, "default")
    assert west_slip.name == default_slip.name            # the same slip number in each estate
    at_default, at_west = gate_of(site, "default"), gate_of(site, "west")
    default_replica, west_replica = synced(at_default), synced(at_west)
    assert (default_replica.estate(), west_replica.estate()) == ("default", "west")

    refused = check(at_default, west_slip, capsys)
    assert refused["allowed"] is False and refused["reasons"] == ["slip.other_estate"]
    assert (refused["messages"][0]["zh"], refused["messages"][0]["en"]) == ("其他小区的放行条", "Slip of another estate")
    released = check(at_west, west_slip, capsys)
    assert released["allowed"] is True and released["synced"] is True
    assert released["slip"]["mover"] == "张三"
    # And the other way round: default's own slip of the same number is good at default only.
    assert check(at_default, default_slip, capsys)["allowed"] is True
    assert check(at_west, default_slip, capsys)["reasons"] == ["slip.other_estate"]


def test_a_gate_credential_reaches_only_its_own_estate_and_gate(site: Site) -> None:
    at_default, at_west = gate_of(site, "default"), gate_of(site, "west")
    west_slip_id = issue(site, "west").stem
    default_replica = synced(at_default)
    assert default_replica.slip(west_slip_id) is None       # west's slips never reach default's gates
    # Each north pushes a row: it lands under its own estate, and neither touches the other's chain.
    at_default.record()
    at_west.record()
    at_west.record()
    for gate in (at_default, at_west):
        daemon = gate.daemon()
        try:
            daemon.push()
        finally:
            daemon.close()
    from sqlalchemy import select

    e, g = schema.events, schema.gates
    with site.engine.connect() as conn:
        counts = {(r.estate, r.gate_id): r.head_seq for r in conn.execute(select(g.c.estate, g.c.gate_id, g.c.head_seq))}
        events = sorted((r.estate, r.gate_id, r.seq) for r in conn.execute(select(e.c.estate, e.c.gate_id, e.c.seq)))
    assert counts == {("default", "north"): 1, ("west", "north"): 2}
    with site.engine.connect() as conn:      # only default's north sent a heartbeat (its run_once): it landed there
        beats = {r.estate: r.heartbeat is not None for r in conn.execute(select(g.c.estate, g.c.heartbeat))}
    assert beats == {"default": True, "west": False}
    assert events == [("default", "north", 1), ("west", "north", 1), ("west", "north", 2)]
    default_cred = (site.dir / "default-north.credential").read_text().strip()
    west_cred = (site.dir / "west-north.credential").read_text().strip()
    secret = default_cred.partition(".")[2]
    with httpx.Client(base_url=site.url) as client:
        def pull(credential: str) -> httpx.Response:
            return client.get("/api/v1/replica", headers={"Authorization": f"Bearer {credential}"})

        # default's secret under west's name is no credential at all
        assert pull(f"west/north.{secret}").status_code == 401
        assert pull(f"default/north.{west_cred.partition('.')[2]}").status_code == 401
        page = pull(default_cred).json()
        assert page["estate"] == "default"
        tables = {c["table"] for c in page["changes"]}
        assert "other_estate_keys" in tables
        slips = [c["row"]["slip_id"] for c in page["changes"] if c["table"] == "slips"]
        assert west_slip_id not in slips
        # A credential written before estates named gates ("north.<secret>") still finds its own gate.
        legacy = pull(f"north.{secret}")
        assert legacy.status_code == 200 and legacy.json()["estate"] == "default"
        assert pull(f"north.{west_cred.partition('.')[2]}").json()["estate"] == "west"


def test_the_other_estates_key_reaches_the_gate_and_leaves_it_when_revoked(site: Site) -> None:
    at_default = gate_of(site, "default")
    west_keys = {p.stem for p in (site.dir / "keys" / "west").glob("*.pub")}
    replica = synced(at_default)
    assert {k: e for k, (e, _) in replica.other_estate_keys().items()} == dict.fromkeys(west_keys, "west")
    assert not set(replica.signing_keys()) & west_keys         # never trusted to release here
    (west_key,) = west_keys
    assert site.office("revoke-key", west_key, "--estate", "west") == 0
    replica = synced(at_default)
    assert replica.other_estate_keys() == {}

