// flowengine's live console: executions and the event log, refreshed on each server-sent event.
(function () {
  "use strict";
  var token = new URLSearchParams(location.search).get("token") || "";
  var q = "token=" + encodeURIComponent(token);
  var kinds = {}, kindSel = document.getElementById("f-kind"), last = null;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else if (k === "cls") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function secs(s) {
    if (s == null) return "running";
    if (s < 1) return Math.round(s * 1000) + " ms";
    if (s < 120) return (Math.round(s * 100) / 100) + " s";
    if (s < 7200) return (Math.round(s / 6) / 10) + " min";
    return (Math.round(s / 360) / 10) + " h";
  }
  function draw(state) {
    last = state;
    var body = document.getElementById("executions");
    body.textContent = "";
    state.executions.forEach(function (x) {
      var link = el("a", {href: "/execution?arn=" + encodeURIComponent(x.arn) + "&" + q, target: "_blank", rel: "noopener", text: x.name});
      body.appendChild(el("tr", {cls: "execution", "data-arn": x.arn, "data-status": x.status}, [
        el("td", {}, [el("span", {cls: "badge " + x.status, text: x.status})]), el("td", {text: x.flow}),
        el("td", {}, [link]), el("td", {text: x.start.replace("T", " ")}), el("td", {text: secs(x.duration)}),
        el("td", {cls: "err", text: x.error || ""})]));
    });
    state.log.forEach(function (r) {
      if (!kinds[r.kind]) { kinds[r.kind] = 1; kindSel.appendChild(el("option", {value: r.kind, text: r.kind})); }
    });
    drawLog();
    document.getElementById("count").textContent = String(state.executions.length);
    document.getElementById("records").textContent = String(state.log.length);
  }
  function drawLog() {
    if (!last) return;
    var body = document.getElementById("log"), kind = kindSel.value;
    body.textContent = "";
    var frag = document.createDocumentFragment();
    last.log.slice().reverse().forEach(function (r) {
      if (kind && r.kind !== kind) return;
      frag.appendChild(el("tr", {cls: "k-" + r.kind}, [el("td", {text: r.time.replace("T", " ")}), el("td", {text: r.kind}), el("td", {cls: "d", text: r.message})]));
    });
    body.appendChild(frag);
  }
  kindSel.addEventListener("change", drawLog);
  function refresh() {
    fetch("/api/state?" + q, {cache: "no-store"}).then(function (r) { return r.json(); }).then(draw).catch(function () {});
  }
  var live = document.getElementById("live");
  var source = new EventSource("/events?" + q);
  source.onmessage = refresh;
  source.onopen = function () { live.textContent = "live"; live.className = "badge RUNNING"; refresh(); };
  source.onerror = function () { live.textContent = "disconnected"; live.className = "badge FAILED"; };
  refresh();
})();
