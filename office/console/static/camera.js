// The office webcam of a form that takes a photo (a permit's holder, a slip's carrier; the form
// works without it): getUserMedia -> <video> -> <canvas> -> a JPEG put into the form's own file
// field (#photo-file), so the photo is sent exactly as an uploaded one is, and checked the same way.
// Whom to frame: data-frame-zh / data-frame-en on .camera-controls (office/console/camera.py).
(function () {
  "use strict";
  var file = document.getElementById("photo-file");
  var video = document.getElementById("camera");
  var canvas = document.getElementById("snapshot");
  var preview = document.getElementById("photo-preview");
  var start = document.getElementById("camera-start");
  var take = document.getElementById("camera-take");
  var note = document.getElementById("camera-note");
  var controls = document.querySelector(".camera-controls");
  if (!file || !video || !canvas || !start || !take || !controls) return;
  controls.hidden = false;
  function say(zh, en) { note.hidden = false; note.textContent = zh + " · " + en; }
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    start.disabled = true;
    say("此地址不能使用摄像头(需要 https 或本机访问),请上传照片",
        "The webcam needs https or this PC's own address here: upload a photo instead");
    return;
  }
  var stream = null;
  start.addEventListener("click", function () {
    navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false }).then(function (s) {
      stream = s;
      video.onloadedmetadata = function () {          // the picture has its size: it can be taken
        take.hidden = false;
        say("对准" + (controls.getAttribute("data-frame-zh") || "持证人") + ",点击拍照",
            "Frame the " + (controls.getAttribute("data-frame-en") || "holder") + "'s face, then take the photo");
      };
      video.srcObject = s;
      video.hidden = false;
      preview.hidden = true;
    }).catch(function (e) {
      say("无法打开摄像头,请上传照片", "The webcam could not be opened (" + e.name + "): upload a photo instead");
    });
  });
  file.addEventListener("change", function () {
    if (file.files && file.files[0]) { preview.src = URL.createObjectURL(file.files[0]); preview.hidden = false; }
  });
  take.addEventListener("click", function () {
    var w = video.videoWidth || 640, h = video.videoHeight || 480;
    canvas.width = w; canvas.height = h;
    canvas.getContext("2d").drawImage(video, 0, 0, w, h);
    canvas.toBlob(function (blob) {
      if (!blob) { say("拍照失败,请重试", "The photo could not be taken: try again"); return; }
      var dt = new DataTransfer();
      dt.items.add(new File([blob], "webcam.jpg", { type: "image/jpeg" }));
      file.files = dt.files;
      preview.src = URL.createObjectURL(blob);
      preview.hidden = false;
      video.hidden = true;
      take.hidden = true;
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); stream = null; }
      video.srcObject = null;
      say("已拍照,提交表单即保存;可重新拍", "Photo taken: it is saved with the form (start the webcam again to retake)");
      document.body.setAttribute("data-photo-taken", "1");
    }, "image/jpeg", 0.9);
  });
})();
