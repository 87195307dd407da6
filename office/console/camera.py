"""The office webcam in a form: one script (static/camera.js) for every form that takes a photo.

The permit form (the holder) and the slip form (the carrier) both carry the same markup: a file
input ``#photo-file``, a ``<video id=camera>``, a ``<canvas id=snapshot>``, a preview ``<img
id=photo-preview>`` and the ``.camera-controls`` buttons, whose ``data-frame-zh`` / ``data-frame-en``
say whom to frame. 拍照 puts a JPEG into that file field, so a taken photo is sent and checked
exactly as an uploaded one; without the script the upload works alone.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.responses import Response

from office.console.web import HEADERS, PREFIX

SCRIPT = (Path(__file__).parent / "static" / "camera.js").read_text(encoding="utf-8")
SCRIPT_URL = f"{PREFIX}/static/camera.js"
#: A page with the camera runs that one script; the captured photo previews as blob: or data:.
FORM_CSP = HEADERS["Content-Security-Policy"].replace(
    "default-src 'none';", "default-src 'none'; script-src 'self'; media-src 'self' blob: mediastream:;").replace(
    "img-src 'self';", "img-src 'self' blob: data:;")


def add_camera_route(router: Any) -> None:
    @router.get("/static/camera.js")
    def script() -> Response:
        return Response(SCRIPT, media_type="text/javascript; charset=utf-8",
                        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"})
