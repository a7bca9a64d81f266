// ledgerd dashboard: live updates without a reload. Polls /api/v1/summary every 5 s; when a
// new observation arrived (or every 30 s), fetches this page again and swaps <main>. Keeps the
// "12 s ago" labels current. The page works fully without this script.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live || !window.fetch || !window.DOMParser) return;
  var offset = Number(live.getAttribute("data-now")) - Date.now();
  var newest = live.getAttribute("data-newest");
  var lastSwap = Date.now();
  var conn = document.getElementById("conn");

  function age(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 120) return s + " s";
    if (s < 7200) return Math.floor(s / 60) + " min";
    if (s < 172800) return Math.floor(s / 3600) + " h";
    return Math.floor(s / 86400) + " d";
  }

  function tick() {
    var now = Date.now() + offset;
    var times = document.querySelectorAll("time.ago[data-ts]");
    for (var i = 0; i < times.length; i++) {
      times[i].textContent = age(now - Number(times[i].getAttribute("data-ts"))) + " ago";
    }
  }

  function busy() {
    var a = document.activeElement;
    if (a && live.contains(a) && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "BUTTON")) return true;
    var inputs = live.querySelectorAll("input:not([type=hidden])");
    for (var i = 0; i < inputs.length; i++) if (inputs[i].value) return true;
    return false;
  }

  function showConn(text) {
    if (!conn) return;
    if (text) { conn.textContent = text; conn.hidden = false; } else { conn.hidden = true; }
  }

  function swap() {
    if (busy()) return;
    fetch(location.pathname, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.text(); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.getElementById("live");
        if (!next || busy()) return;
        offset = Number(next.getAttribute("data-now")) - Date.now();
        live.replaceWith(document.adoptNode(next));
        live = next;
        document.title = doc.title;
        lastSwap = Date.now();
        tick();
      })
      .catch(function () {});
  }

  function poll() {
    fetch("/api/v1/summary", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (s) {
        showConn("");
        var id = String(s.newest_observation_id || 0);
        if (id !== newest || Date.now() - lastSwap > 30000) { newest = id; swap(); }
      })
      .catch(function () {
        showConn("⚠ Lost contact with ledgerd at " + new Date().toLocaleTimeString() + ": what you see may be old");
      });
  }

  tick();
  setInterval(tick, 1000);
  setInterval(poll, 5000);
})();
