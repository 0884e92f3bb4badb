/*
 * Pulse embedding API: listen to and control a Pulse player in an iframe.
 *
 *   <iframe id="lecture" src="https://pulse.example.edu/v/UUID?student=john_doe" allow="autoplay; fullscreen"></iframe>
 *   <script src="https://pulse.example.edu/embed.js"></script>
 *   <script>
 *     const player = Pulse.player(document.getElementById("lecture"));
 *     player.on("timeupdate", (e) => console.log(e.position, e.duration));
 *     player.on("ended", () => console.log("done"));
 *     await player.ready;            // the player has loaded
 *     await player.seek(30);         // every command returns a promise
 *     await player.play();           // rejects if the browser refuses (autoplay policy)
 *     const position = await player.getPosition();
 *   </script>
 *
 * Events: ready, play, pause, seeked, timeupdate (at most 4 a second), ended,
 * error; each with uuid, position, duration (null while unknown) and session.
 * Commands: play(), pause(), seek(seconds), setVolume(0..1), setMuted(bool),
 * getPosition(). Messages are exchanged only with the iframe's own window and
 * origin; the player accepts commands only from its parent window at the
 * embedding origin.
 */
(function (global) {
  "use strict";
  var TIMEOUT = 10000;

  function Player(iframe) {
    if (!iframe || !iframe.contentWindow) {
      throw new Error("Pulse.player: pass the player's <iframe> element");
    }
    var self = this;
    this.iframe = iframe;
    this.origin = new URL(iframe.src, document.baseURI).origin;
    this._handlers = {};
    this._pending = {};
    this._next = 1;
    this._readyResolve = null;
    this.ready = new Promise(function (resolve) { self._readyResolve = resolve; });
    this._listener = function (e) { self._receive(e); };
    global.addEventListener("message", this._listener);
    // The player announces "ready" when it starts; if it started before
    // this object existed, a ping makes it say so again.
    var pings = 0;
    this._ping = setInterval(function () {
      if (!self._readyResolve || ++pings > 120) { clearInterval(self._ping); return; }
      try {
        self.iframe.contentWindow.postMessage({ type: "pulse", command: "ping", args: [], id: 0 }, self.origin);
      } catch (err) { /* not loaded yet */ }
    }, 250);
  }

  Player.prototype._receive = function (e) {
    if (e.source !== this.iframe.contentWindow || e.origin !== this.origin) return;
    var d = e.data;
    if (!d || d.type !== "pulse") return;
    if (d.reply !== undefined) {
      var p = this._pending[d.reply];
      if (!p) return;
      delete this._pending[d.reply];
      clearTimeout(p.timer);
      if (d.ok) p.resolve(d.result); else p.reject(new Error(d.error || "command failed"));
      return;
    }
    if (!d.event) return;
    if (d.event === "ready" && this._readyResolve) {
      this._readyResolve(d);
      this._readyResolve = null;
    }
    (this._handlers[d.event] || []).slice().forEach(function (fn) {
      try { fn(d); } catch (err) { setTimeout(function () { throw err; }); }
    });
  };

  Player.prototype._command = function (command, args) {
    var self = this;
    return this.ready.then(function () {
      return new Promise(function (resolve, reject) {
        var id = self._next++;
        var timer = setTimeout(function () {
          delete self._pending[id];
          reject(new Error("Pulse player did not answer " + command));
        }, TIMEOUT);
        self._pending[id] = { resolve: resolve, reject: reject, timer: timer };
        self.iframe.contentWindow.postMessage({ type: "pulse", command: command, args: args || [], id: id }, self.origin);
      });
    });
  };

  Player.prototype.on = function (event, fn) {
    (this._handlers[event] = this._handlers[event] || []).push(fn);
    return this;
  };
  Player.prototype.off = function (event, fn) {
    var list = this._handlers[event] || [];
    this._handlers[event] = fn ? list.filter(function (f) { return f !== fn; }) : [];
    return this;
  };
  Player.prototype.play = function () { return this._command("play"); };
  Player.prototype.pause = function () { return this._command("pause"); };
  Player.prototype.seek = function (seconds) { return this._command("seek", [Number(seconds)]); };
  Player.prototype.setVolume = function (v) { return this._command("setVolume", [Number(v)]); };
  Player.prototype.setMuted = function (m) { return this._command("setMuted", [!!m]); };
  Player.prototype.getPosition = function () { return this._command("getPosition"); };
  Player.prototype.destroy = function () {
    clearInterval(this._ping);
    global.removeEventListener("message", this._listener);
    var pending = this._pending;
    this._pending = {};
    Object.keys(pending).forEach(function (id) {
      clearTimeout(pending[id].timer);
      pending[id].reject(new Error("Pulse player destroyed"));
    });
  };

  global.Pulse = { player: function (iframe) { return new Player(iframe); } };
})(window);
