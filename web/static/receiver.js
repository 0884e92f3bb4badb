// Live updates for the demo receiver page: new heartbeats arrive as
// server-sent events and are put on top. Values are set as text, never as
// markup: a heartbeat is whatever a browser chose to send.
(function () {
  "use strict";
  var rows = document.getElementById("rows");
  var prefix = rows.dataset.prefix;
  var live = document.getElementById("live");
  var liveText = document.getElementById("livetext");
  function cell(text, cls) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : text;
    if (cls) td.className = cls;
    return td;
  }
  function time(iso) {
    var d = new Date(iso);
    function p(n, w) { return String(n).padStart(w || 2, "0"); }
    return p(d.getHours()) + ":" + p(d.getMinutes()) + ":" + p(d.getSeconds()) + "." + p(d.getMilliseconds(), 3);
  }
  function add(e) {
    var empty = rows.querySelector(".empty");
    if (empty) empty.remove();
    var tr = document.createElement("tr");
    var fields = (e.fields || []).filter(function (f) { return f[0] !== "token"; })
      .map(function (f) { return f[0] + "=" + f[1]; }).join(" ");
    tr.append(cell(time(e.received)), cell(e.origin), cell(e.error ? "refused" : e.event),
      cell(e.field ? e.field + "=" + e.value : "", "value"), cell(e.position), cell(e.uuid, "value"), cell(e.verified || ""),
      cell(e.error || fields, "value"));
    rows.prepend(tr);
    while (rows.children.length > 200) rows.lastElementChild.remove();
  }
  var es = new EventSource(prefix + "/events");
  es.onopen = function () { live.classList.add("on"); liveText.textContent = "live"; };
  es.onerror = function () { live.classList.remove("on"); liveText.textContent = "reconnecting…"; };
  es.onmessage = function (m) { add(JSON.parse(m.data)); };
})();
