"""The pure frame parsers: known frames, damaged frames, and any byte stream at all."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from drivers import pn532
from drivers.frames import LINE_MAX, format_uid, parse_line, parse_rdm6300


def rdm_frame(uid: bytes) -> bytes:
    xor = 0
    for b in uid:
        xor ^= b
    return b"\x02" + (uid.hex().upper() + f"{xor:02X}").encode() + b"\x03"


UID = bytes.fromhex("0A00123456")


def feed(parser, chunks):
    """Run a parser over chunks as a reader thread would; collect all frames and rejects."""
    rest, frames, rejects = b"", [], []
    for chunk in chunks:
        p = parser(rest + chunk)
        frames += p.frames
        rejects += p.rejects
        rest = p.rest
    return frames, rejects, rest


# ---------------------------------------------------------------- rdm6300

def test_a_good_rdm6300_frame_yields_its_five_uid_bytes():
    p = parse_rdm6300(rdm_frame(UID))
    assert p.frames == [UID] and p.rejects == [] and p.rest == b""


def test_lower_case_hex_is_accepted():
    assert parse_rdm6300(rdm_frame(UID).lower()).frames == [UID]


def test_a_frame_with_a_wrong_checksum_is_rejected_with_the_reason():
    bad = bytearray(rdm_frame(UID))
    bad[11:13] = b"FF"
    p = parse_rdm6300(bytes(bad))
    assert p.frames == []
    assert "checksum" in p.rejects[0].reason


def test_non_hex_characters_are_rejected():
    bad = bytearray(rdm_frame(UID))
    bad[3] = ord("Z")
    p = parse_rdm6300(bytes(bad))
    assert p.frames == [] and "non-hex" in p.rejects[0].reason


def test_a_frame_split_across_reads_is_found_once_complete():
    frame = rdm_frame(UID)
    frames, rejects, rest = feed(parse_rdm6300, [frame[:5], frame[5:9], frame[9:]])
    assert frames == [UID] and rejects == [] and rest == b""


def test_the_parser_resynchronises_after_garbage_containing_a_false_stx():
    stream = b"\x02\x02junk\x03" + rdm_frame(UID) + b"\xff\x02" + rdm_frame(UID)
    frames, rejects, _ = feed(parse_rdm6300, [stream])
    assert frames == [UID, UID]
    assert rejects


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=30))
def test_any_byte_stream_never_raises_and_keeps_at_most_one_frame(chunks):
    rest = b""
    for chunk in chunks:
        p = parse_rdm6300(rest + chunk)
        rest = p.rest
        assert len(rest) < 14


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=30), st.binary(min_size=5, max_size=5)), min_size=1, max_size=8),
       st.integers(1, 20))
def test_valid_frames_between_garbage_are_all_found(pieces, chunk_size):
    # garbage without STX cannot hide a frame; each valid frame must come out
    stream = b"".join(g.replace(b"\x02", b"") + rdm_frame(uid) for g, uid in pieces)
    chunks = [stream[i:i + chunk_size] for i in range(0, len(stream), chunk_size)]
    frames, _, _ = feed(parse_rdm6300, chunks)
    assert frames == [uid for _, uid in pieces]


# ---------------------------------------------------------------- line

def test_hex_lines_with_any_line_ending_are_parsed():
    p = parse_line(b"04A1B2C3\r\n0x04a1b2c3\n04:A1:B2:C3\r")
    assert p.frames == [bytes.fromhex("04A1B2C3")] * 3 and p.rejects == []


def test_a_digits_only_line_is_decimal_by_default_and_hex_when_configured():
    assert parse_line(b"0010597059\n").frames == [(10597059).to_bytes(4, "big")]
    assert parse_line(b"12345678\n", digits="hex").frames == [bytes.fromhex("12345678")]


def test_decimal_and_hex_of_the_same_card_give_the_same_canonical_uid():
    (dec,) = parse_line(b"0001193046\n").frames
    (hx,) = parse_line(b"00123456\n", digits="hex").frames
    assert format_uid(dec, "hex") == format_uid(hx, "hex") == "00123456"
    assert format_uid(hx, "decimal") == "1193046"


def test_garbage_lines_are_rejected_and_an_unfinished_line_is_kept():
    p = parse_line(b"hello!\n\xfe\xfe\n04A1")
    assert [r.reason for r in p.rejects] == ["neither hex nor decimal", "not ASCII"]
    assert p.rest == b"04A1"


def test_an_endless_line_is_dropped_up_to_its_end_without_growing_the_buffer():
    frames, rejects, rest = feed(parse_line, [b"A" * 50] * 10 + [b"BB\n04A1B2C3\n"])
    assert frames == [bytes.fromhex("04A1B2C3")]
    assert any("too long" in r.reason for r in rejects)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=80), max_size=30))
def test_any_byte_stream_never_raises_and_the_line_buffer_stays_bounded(chunks):
    rest = b""
    for chunk in chunks:
        p = parse_line(rest + chunk)
        rest = p.rest
        assert len(rest) <= LINE_MAX


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=120), st.binary(min_size=4, max_size=7)), min_size=1, max_size=8),
       st.integers(1, 40))
def test_uid_lines_after_garbage_lines_are_all_found(pieces, chunk_size):
    # garbage (even over-long, even non-ASCII) ends at its newline and cannot hide the next line
    def clean(g: bytes) -> bytes:
        return g.replace(b"\r", b"").replace(b"\n", b"")
    stream = b"".join(clean(g) + b"\r\n" + uid.hex().encode() + b"\n" for g, uid in pieces)
    chunks = [stream[i:i + chunk_size] for i in range(0, len(stream), chunk_size)]
    frames, _, _ = feed(lambda b: parse_line(b, digits="hex"), chunks)
    found = iter(frames)
    assert all(uid in found for _, uid in pieces)   # each UID, in order (garbage may add its own)


# ---------------------------------------------------------------- pn532

def test_a_built_frame_parses_back_to_its_data():
    frame = pn532.build_frame(b"\x4a\x01\x00")
    p = pn532.parse_pn532(frame)
    assert p.frames == [pn532.Frame("info", pn532.HOST_TFI, b"\x4a\x01\x00")] and p.rejects == []


def test_ack_nack_and_error_frames_are_recognised():
    p = pn532.parse_pn532(pn532.ACK + pn532.NACK + b"\x00\x00\xff\x01\xff\x7f\x81\x00")
    assert [f.kind for f in p.frames] == ["ack", "nack", "error"]


def test_bad_length_or_data_checksums_are_rejected():
    good = bytearray(pn532.build_frame(b"\x4b\x00", pn532.CHIP_TFI))
    bad_lcs = bytes(good[:4]) + bytes([good[4] ^ 1]) + bytes(good[5:])
    bad_dcs = bytes(good[:-2]) + bytes([good[-2] ^ 1]) + b"\x00"
    assert "length checksum" in pn532.parse_pn532(bad_lcs).rejects[0].reason
    assert "data checksum" in pn532.parse_pn532(bad_dcs).rejects[0].reason
    assert pn532.parse_pn532(bad_dcs).frames == []


def test_a_good_frame_inside_a_damaged_one_is_still_found():
    good = pn532.build_frame(b"\x4b\x00", pn532.CHIP_TFI)
    damaged = b"\x00\x00\xff\x04\xfc\xd5" + good   # claims 4 bytes, so its DCS lands inside `good`
    p = pn532.parse_pn532(damaged)
    assert "data checksum" in p.rejects[0].reason
    assert p.frames == [pn532.Frame("info", pn532.CHIP_TFI, b"\x4b\x00")]


def test_target_uid_reads_a_mifare_classic_and_a_seven_byte_uid():
    classic = bytes([1, 1, 0x00, 0x04, 0x08, 4]) + bytes.fromhex("DEADBEEF")
    ultralight = bytes([1, 1, 0x00, 0x44, 0x00, 7]) + bytes.fromhex("04112233445566")
    assert pn532.target_uid(classic) == bytes.fromhex("DEADBEEF")
    assert pn532.target_uid(ultralight) == bytes.fromhex("04112233445566")
    assert pn532.target_uid(b"\x00") is None
    assert isinstance(pn532.target_uid(bytes([1, 1, 0, 4, 8, 9, 1])), str)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=300), max_size=20))
def test_any_byte_stream_never_raises_and_keeps_at_most_one_pn532_frame(chunks):
    rest = b""
    for chunk in chunks:
        p = pn532.parse_pn532(rest + chunk)
        rest = p.rest
        assert len(rest) <= 262


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.binary(max_size=40), st.binary(min_size=1, max_size=60)), min_size=1, max_size=6),
       st.integers(1, 50))
def test_pn532_frames_between_garbage_are_all_found(pieces, chunk_size):
    # garbage is kept free of 00 FF so it cannot open a frame that swallows the next one
    def clean(g: bytes) -> bytes:
        return g.replace(b"\xff", b"")
    stream = b"".join(clean(g) + pn532.build_frame(d, pn532.CHIP_TFI) for g, d in pieces)
    chunks = [stream[i:i + chunk_size] for i in range(0, len(stream), chunk_size)]
    frames, _, _ = feed(pn532.parse_pn532, chunks)
    assert [f.data for f in frames if f.kind == "info"] == [d for _, d in pieces]
