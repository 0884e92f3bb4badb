// Loads the Pulse player: the Go runtime glue (wasm_exec.js) is already on
// the page; this fetches and starts player.wasm, streaming-compiled.
(function () {
  "use strict";
  var script = document.currentScript;
  var status = document.getElementById("status");
  function fail(err) {
    document.getElementById("player").dataset.state = "error";
    status.textContent = "The player could not start: " + (err && err.message ? err.message : err);
    console.error("pulse: player failed to start:", err);
  }
  if (typeof WebAssembly !== "object" || typeof Go !== "function") {
    fail("this browser does not support WebAssembly");
    return;
  }
  var go = new Go();
  var src = script.dataset.wasm;
  var load = WebAssembly.instantiateStreaming
    ? WebAssembly.instantiateStreaming(fetch(src), go.importObject)
    : fetch(src).then(function (r) { return r.arrayBuffer(); })
        .then(function (b) { return WebAssembly.instantiate(b, go.importObject); });
  // Marks for devtools and make bench: compiled, then (from Go) main
  // started and tracking armed.
  load.then(function (result) {
    if (window.performance && performance.mark) performance.mark("pulse:instantiated");
    return go.run(result.instance);
  }).catch(fail);
})();
