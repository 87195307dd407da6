"""Every scene, drawn for real at the 7" size and at 1280x800: nothing clipped, targets big enough."""
from __future__ import annotations

import itertools

import pygame
import pytest

from domain.errors import GatepassError
from kiosk.core.events import Action, Press
from kiosk.core.view import Extras, Status, view_of
from kiosk.fonts import FontError, find_cjk_font
from kiosk.ui.render import Renderer
from kiosk.ui.text import Typesetter
from kiosk.ui.theme import MIN_TOUCH
from tests.ui.gallery import NOW, gallery

SIZES = [(800, 480), (1280, 800), (1920, 1080)]
STATUS = Status(reader=False, camera=True, sync_ok=False, replica_age_s=3 * 86400, pending=12345, clock_synced=False)
RECENT = tuple(
    {"kind": k, "at": NOW.isoformat(), "slip_id": "S2026112501", "guard_id": "G001",
     "reasons": ["slip.used_at_other_gate"], "detail": {"report": "suspicious_items"}}
    for k in ("release", "refusal", "card_pass", "card_denied", "override", "report", "shift_start", "shift_end",
              "exit_request") * 2
)
LEGEND = tuple((f"F{i}", f"保安欧阳建国{i}") for i in range(1, 13)) + tuple(
    (chr(97 + i), f"approvals_missing{i}") for i in range(16)) + (("PIN", "欧阳建国 2468  司马慧敏 1357"),)
EXTRAS = Extras(recent=RECENT, demo_legend=LEGEND, guard_names={"G001": "欧阳建国"})
CASES = list(itertools.product(SIZES, gallery().items()))


def _draw(ts, size, state, extras=EXTRAS, status=STATUS):
    surface = pygame.Surface(size)
    frame = Renderer(ts, size, demo=True).draw(surface, view_of(state, NOW, status, extras))
    return surface, frame


@pytest.mark.parametrize("size,case", CASES, ids=[f"{s[0]}x{s[1]}-{n}" for s, (n, _) in CASES])
def test_no_text_is_clipped_or_ellipsized(typesetter, size, case):
    _, frame = _draw(typesetter, size, case[1])
    assert frame.overflows == (), [(o.text, o.why) for o in frame.overflows]


@pytest.mark.parametrize("size,case", CASES, ids=[f"{s[0]}x{s[1]}-{n}" for s, (n, _) in CASES])
def test_touch_targets_are_big_enough_on_screen_and_apart(typesetter, size, case):
    _, frame = _draw(typesetter, size, case[1])
    screen = pygame.Rect(0, 0, *size)
    for h in frame.hits:
        assert h.rect.height >= MIN_TOUCH and h.rect.width >= MIN_TOUCH, (h.press, h.rect)
        assert screen.contains(h.rect), (h.press, h.rect)
    for a, b in itertools.combinations(frame.hits, 2):
        assert not a.rect.colliderect(b.rect), (a.press, b.press)


def test_the_refused_screen_shows_the_reason_and_what_to_do(typesetter):
    state = gallery()["refused_used"]
    _, frame = _draw(typesetter, (800, 480), state)
    assert "放行条已在其他出入口使用" in frame.drawn
    assert "不得重复放行,请报告" in frame.drawn
    assert any("south" in t for t in frame.drawn)


def test_a_slip_of_another_estate_is_refused_on_screen_with_its_own_reason(typesetter, tmp_path):
    surface, frame = _draw(typesetter, (800, 480), gallery()["refused_other_estate"])
    assert "其他小区的放行条" in frame.drawn and "本小区不得放行,请持放行条回签发小区办理" in frame.drawn
    assert any("Slip of another estate" in t for t in frame.drawn)
    pygame.image.save(surface, str(tmp_path / "refused_other_estate.png"))


@pytest.mark.parametrize("case, zh, en", [
    ("out_of_service", "出门记录无法写入,不能放行", "disk I/O error"),
    ("out_of_service_disk_full", "存储空间已满,无法记录放行;清理空间后自动恢复", "database or disk is full"),
    ("out_of_service_gpio", "闸门控制故障", "gpiochip0: device busy"),
])
def test_the_out_of_service_screen_says_what_broke_from_the_typed_fault(typesetter, case, zh, en):
    _, frame = _draw(typesetter, (800, 480), gallery()[case])
    assert "闸门已关闭 · 暂停放行" in frame.drawn
    assert zh in frame.drawn
    assert any(en in t for t in frame.drawn)          # the technician's exact error beneath


def test_the_status_bar_shows_reader_offline(typesetter):
    _, frame = _draw(typesetter, (800, 480), gallery()["idle"])
    assert any("reader offline" in t for t in frame.drawn)


def test_every_slip_line_can_be_ticked_by_tapping_it(typesetter):
    _, frame = _draw(typesetter, (800, 480), gallery()["slip_items"])
    toggles = sorted(h.press.value for h in frame.hits if isinstance(h.press, Press) and h.press.action is Action.TOGGLE_ITEM)
    assert toggles == ["0", "1", "2", "3", "4"]


def test_the_keypad_offers_every_digit(typesetter):
    _, frame = _draw(typesetter, (800, 480), gallery()["sign_off"])
    digits = sorted(h.press.value for h in frame.hits if isinstance(h.press, Press) and h.press.action is Action.DIGIT)
    assert digits == list("0123456789")


def test_the_fit_checker_catches_text_that_cannot_fit(typesetter):
    surface = pygame.Surface((200, 100))
    typesetter.begin_frame()
    typesetter.draw(surface, "这是一个非常非常长的物品名称,根本放不下" * 3, pygame.Rect(0, 0, 120, 30), 24, (255, 255, 255))
    assert typesetter.overflows and typesetter.overflows[0].why in ("ellipsized", "clipped")


def test_text_shrinks_before_it_is_cut(typesetter):
    typesetter.begin_frame()
    rect = pygame.Rect(0, 0, 200, 40)
    size, lines, why = typesetter.fit("双开门冰箱 西门子", rect, 40, min_size=12)
    assert why == "" and size < 40 and lines == ["双开门冰箱 西门子"]


def test_a_configured_font_that_does_not_exist_is_a_clear_error(tmp_path):
    with pytest.raises(FontError) as err:
        find_cjk_font(str(tmp_path / "nope.ttf"))
    assert isinstance(err.value, GatepassError) and "display.font" in str(err.value)


def test_a_font_file_that_is_not_a_font_is_a_clear_error(tmp_path):
    bad = tmp_path / "bad.ttf"
    bad.write_bytes(b"not a font")
    face = find_cjk_font(str(bad))
    with pytest.raises(FontError):
        Typesetter(face, face)


def test_a_long_slip_is_paged_and_every_line_can_be_reached(typesetter):
    from kiosk.ui.widgets import Page

    state = gallery()["slip_items_long"]
    assert state.scene.value == "slip_items" and len(state.case.checked) == 12
    seen: set[str] = set()
    renderer = Renderer(typesetter, (800, 480))
    for page in range(4):
        frame = renderer.draw(pygame.Surface((800, 480)), view_of(state, NOW, STATUS, EXTRAS), page=page)
        assert frame.overflows == ()
        seen |= {h.press.value for h in frame.hits if isinstance(h.press, Press) and h.press.action is Action.TOGGLE_ITEM}
        assert any(isinstance(h.press, Page) for h in frame.hits)
    assert seen == {str(i) for i in range(12)}
    assert any("未核对11项" in t for t in frame.drawn)


def test_no_fontconfig_is_a_clear_error(monkeypatch):
    import kiosk.fonts as fonts

    monkeypatch.setattr(fonts.shutil, "which", lambda name: None)
    with pytest.raises(FontError, match="fontconfig"):
        find_cjk_font()


def test_a_latin_only_match_is_not_taken_for_a_chinese_font(monkeypatch):
    """fc-match answers ':lang=zh' with DejaVu when no CJK font is installed: that must be refused."""
    import subprocess

    import kiosk.fonts as fonts

    def fake_run(cmd, **kw):
        return subprocess.CompletedProcess(cmd, 0, "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf|0|aa|en|fr", "")

    monkeypatch.setattr(fonts.subprocess, "run", fake_run)
    with pytest.raises(FontError, match="fonts-noto-cjk"):
        find_cjk_font()
