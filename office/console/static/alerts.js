// The alerts page, live: one EventSource; a newer alert than the page shows reloads the page.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.EventSource) { return; }
  var shown = parseInt(live.getAttribute("data-latest"), 10);
  var source = new EventSource(live.getAttribute("data-stream") + "?seen=" + shown);
  source.addEventListener("alert", function (e) {
    var latest = parseInt(e.data, 10);
    if (latest > shown) {
      source.close();
      document.title = "【新警报 New alert】" + document.title;
      window.location.reload();
    }
  });
}());
