// The JavaScript baseline of `make bench`: the seed's client-side webhooks
// done the plain way, with no wasm, against the same Pulse server: fetch the
// player config, read the URL parameter, arm a setInterval heartbeat per
// webhook, and mark "pulse:armed" as the Pulse player does. It plays the
// media with an <audio> element. URL: ?server=…&uuid=…&student=…
(function () {
  "use strict";
  var q = new URLSearchParams(location.search);
  var server = q.get("server"), uuid = q.get("uuid");
  var audio = document.getElementById("media");
  audio.src = server + "/media/" + uuid;
  document.getElementById("play").addEventListener("click", function () { audio.play(); });
  var seek = document.getElementById("seek");
  seek.addEventListener("change", function () { audio.currentTime = Number(seek.value); });

  function position() {
    return audio.currentTime.toFixed(3).replace(/\.?0+$/, "");
  }
  fetch(server + "/api/player/" + uuid + "/webhooks", { credentials: "omit" })
    .then(function (r) { return r.json(); })
    .then(function (cfg) {
      (cfg.webhooks || []).forEach(function (w) {
        var value = q.get(w.request_field) || "";
        var rpm = Math.min(Math.max(w.rpm || 1, 1), 60);
        setInterval(function () {
          if (audio.paused) return;
          var fd = new FormData();
          fd.append("uuid", uuid);
          fd.append("position", position());
          fd.append(w.response_field, value);
          fetch(w.url, { method: "POST", body: fd, credentials: "omit" }).catch(function () {});
        }, 60000 / rpm);
      });
      performance.mark("pulse:armed");
    })
    .catch(function (err) {
      console.warn("baseline: webhook config unavailable:", err);
    });
})();
