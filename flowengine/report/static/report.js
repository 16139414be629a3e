// flowengine's execution report: selection, state details, timeline and history filters.
// Hand-written, no library; the data is the JSON in #fe-data (flowengine/report/model.py).
(function () {
  "use strict";
  var __t0 = performance.now();
  var data = JSON.parse(document.getElementById("fe-data").textContent);
  var attempts = data.attempts, rows = data.history, states = data.states;
  var byId = {};
  rows.forEach(function (r) { byId[r.id] = r; });
  // Rows are drawn in pages: a page of a few hundred keeps the first paint fast for big runs.
  var PAGE = 300, timelineRows = PAGE, historyRows = PAGE;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k]; else if (k === "cls") e.className = attrs[k]; else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) e.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return e;
  }
  function secs(s) {
    if (s == null) return "";
    if (s === 0) return "0 s";
    var neg = s < 0; s = Math.abs(s);
    var out;
    if (s < 1) out = Math.round(s * 1000) + " ms";
    else if (s < 60) out = (Math.round(s * 100) / 100) + " s";
    else if (s < 3600) out = Math.floor(s / 60) + " m" + (s % 60 >= 1 ? " " + Math.round(s % 60) + " s" : "");
    else if (s < 86400) out = Math.floor(s / 3600) + " h" + (s % 3600 >= 60 ? " " + Math.round((s % 3600) / 60) + " m" : "");
    else out = Math.floor(s / 86400) + " d" + (s % 86400 >= 3600 ? " " + Math.round((s % 86400) / 3600) + " h" : "");
    return (neg ? "-" : "") + out;
  }
  function pretty(text) {
    if (text == null) return "";
    try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
  }
  function jsonBlock(label, text, open) {
    var d = el("details", {cls: "json"}, [el("summary", {text: label}), el("pre", {text: pretty(text)})]);
    if (open) d.open = true;
    return d;
  }
  function eventText(r) {
    var d = r.details || {}, keys = Object.keys(d).filter(function (k) { return !/Details$/.test(k); });
    return keys.map(function (k) { var v = d[k]; return k + "=" + (typeof v === "string" ? v : JSON.stringify(v)); }).join("  ");
  }

  // -- graph: outcome classes are in the SVG; selection and details here ----------------
  var selected = null;
  function select(id) {
    if (selected) selected.classList.remove("selected");
    selected = document.querySelector('.fe-graph .node[data-id="' + id + '"]');
    if (selected) { selected.classList.add("selected"); }
    showDetails(id);
  }
  function showDetails(id) {
    var st = states[id], box = document.getElementById("details");
    box.textContent = "";
    if (!st) return;
    box.appendChild(el("h2", {text: st.name}));
    box.appendChild(el("div", {cls: "hint"}, [st.kind + " · ", el("span", {cls: "status " + st.outcome, text: st.outcome.replace("-", " ")}),
      st.visits > 1 ? " · entered " + st.visits + " times" : ""]));
    if (!st.attempts.length) { box.appendChild(el("p", {cls: "hint", text: "The run did not reach this state."})); return; }
    var list = st.attempts, shown = list.slice(0, 50);
    shown.forEach(function (i, n) {
      var a = attempts[i];
      var title = "Attempt " + (a.number + 1) + (a.mapIndex != null ? " · item " + a.mapIndex : "") +
        (st.visits > 1 ? " · entry " + (a.entry + 1) : "");
      var meta = el("div", {cls: "meta"}, [el("span", {cls: "status " + a.status, text: a.status}),
        el("span", {text: "at +" + secs(a.start)}),
        a.end != null ? el("span", {text: "took " + secs(a.end - a.start)}) : null,
        a.retryDelay != null ? el("span", {cls: "delay", text: "after a " + secs(a.retryDelay) + " backoff"}) : null]);
      var box2 = el("div", {cls: "att " + a.status, "data-attempt": String(i)}, [el("b", {text: title}), meta]);
      if (a.error) box2.appendChild(el("div", {}, [el("span", {cls: "err", text: a.error}), a.cause ? el("div", {cls: "cause", text: a.cause}) : null]));
      var inp = byId[a.inputEvent], out = a.outputEvent != null ? byId[a.outputEvent] : null;
      box2.appendChild(jsonBlock("input", inp && inp.details.input, n === 0));
      if (out) box2.appendChild(jsonBlock("output", out.details.output, n === 0));
      var evs = el("details", {cls: "json"}, [el("summary", {text: a.events.length + " history events"})]);
      var t = el("table");
      a.events.forEach(function (ri) { var r = rows[ri]; t.appendChild(el("tr", {}, [el("td", {text: String(r.id)}), el("td", {text: r.type}), el("td", {cls: "d", text: eventText(r)})])); });
      evs.appendChild(t); box2.appendChild(evs);
      box.appendChild(box2);
    });
    if (list.length > shown.length) box.appendChild(el("div", {cls: "more", text: (list.length - shown.length) + " more attempts: filter the history by this state"}));
  }
  // one listener for every state (a 1,000-state graph would otherwise take 2,000)
  function nodeOf(target) { var n = target.closest ? target.closest(".fe-graph .node") : null; return n ? n.getAttribute("data-id") : null; }
  var graphBox = document.getElementById("graph");
  graphBox.addEventListener("click", function (e) { var id = nodeOf(e.target); if (id) select(id); });
  graphBox.addEventListener("keydown", function (e) {
    var id = nodeOf(e.target);
    if (id && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); select(id); }
  });

  // -- timeline of virtual time ---------------------------------------------------------
  function timeline() {
    var box = document.getElementById("timeline"), scaleSel = document.getElementById("tl-scale");
    var total = data.virtualSeconds || 0;
    attempts.forEach(function (a) { if (a.end != null && a.end > total) total = a.end; });
    var span = total > 0 ? total : 1;
    // "instants": every instant something started or ended gets an equal share of the width,
    // so a run of seconds next to a wait of days still shows its seconds
    var instants = [0, total];
    attempts.forEach(function (a) {
      instants.push(a.start);
      if (a.end != null) instants.push(a.end);
      if (a.retryDelay != null) instants.push(a.start - a.retryDelay);
    });
    instants = instants.sort(function (x, y) { return x - y; }).filter(function (t, i, all) { return i === 0 || t !== all[i - 1]; });
    function frac(t) {
      if (scaleSel.value !== "instants" || instants.length < 2) return t / span;
      var lo = 0, hi = instants.length - 1;
      while (lo < hi) { var mid = (lo + hi) >> 1; if (instants[mid] < t) lo = mid + 1; else hi = mid; }
      if (instants[lo] === t || lo === 0) return lo / (instants.length - 1);
      var a0 = instants[lo - 1], a1 = instants[lo];
      return (lo - 1 + (t - a0) / (a1 - a0)) / (instants.length - 1);
    }
    function pct(t) { return (100 * frac(t)) + "%"; }
    function width(from, to) { return (100 * (frac(to) - frac(from))) + "%"; }
    var track = el("div", {cls: "tl-track"});
    var axis = el("div", {cls: "tl-axis"}, [el("div", {cls: "tl-label", text: "state (virtual time →)"}), track]);
    box.appendChild(axis);
    function ticks() {
      track.textContent = "";
      if (total === 0) { track.appendChild(el("span", {cls: "tl-tick", style: "left:1.5%;transform:none", text: "everything at +0 s: no virtual time passed"})); return; }
      for (var i = 0, shown = -1; i <= 4; i++) {
        var t = scaleSel.value === "instants" ? instants[Math.round((instants.length - 1) * i / 4)] : total * i / 4;
        if (t === shown) continue;
        shown = t;
        track.appendChild(el("span", {cls: "tl-tick", style: "left:" + (i === 0 ? "1.5%" : i === 4 ? "96%" : pct(t)), text: "+" + secs(t)}));
      }
    }
    var rowsBox = el("div");
    box.appendChild(rowsBox);
    var more = el("button", {cls: "more-btn", type: "button"});
    box.appendChild(more);
    function draw(from, to) {
      var frag = document.createDocumentFragment();
      attempts.slice(from, to).forEach(function (a, k) { frag.appendChild(row(a, from + k)); });
      rowsBox.appendChild(frag);
      var left = attempts.length - to;
      more.style.display = left > 0 ? "" : "none";
      more.textContent = "show " + Math.min(left, PAGE * 10) + " more of " + left + " attempts";
    }
    function row(a, i) {
      var label = el("div", {cls: "tl-label", title: a.state}, [a.state, a.mapIndex != null ? el("span", {cls: "ix", text: " [" + a.mapIndex + "]"}) : null,
        a.number > 0 ? el("span", {cls: "ix", text: " retry " + a.number}) : null]);
      if (a.node) label.addEventListener("click", function () { select(a.node); });
      var tr = el("div", {cls: "tl-track"});
      var end = a.end != null ? a.end : total;
      var from = a.retryDelay != null ? a.start - a.retryDelay : a.start;
      if (a.retryDelay != null) {
        tr.appendChild(el("div", {cls: "bar backoff", style: "left:" + pct(from) + ";width:" + width(from, a.start), title: "backoff " + secs(a.retryDelay)}));
      }
      var kind = a.type === "Wait" ? "wait" : a.status;
      tr.appendChild(el("div", {cls: "bar " + kind, style: "left:" + pct(a.start) + ";width:" + width(a.start, end),
        title: a.state + ": " + a.status + ", " + secs(end - a.start) + (a.error ? " (" + a.error + ")" : "")}));
      var note = [];
      if (a.retryDelay != null) note.push("backoff " + secs(a.retryDelay));
      if (end - a.start > 0) note.push(secs(end - a.start));
      if (a.error) note.push(a.error);
      if (note.length) {
        var right = 100 * frac(end) > 70;
        tr.appendChild(el("span", {cls: "tl-note", style: right ? "right:" + (100 - 100 * frac(from) + 0.5) + "%" : "left:" + pct(end), text: note.join(" · ")}));
      }
      return el("div", {cls: "tl-row", "data-attempt": String(i)}, [label, tr]);
    }
    more.addEventListener("click", function () { var from = timelineRows; timelineRows += PAGE * 10; draw(from, Math.min(timelineRows, attempts.length)); });
    scaleSel.addEventListener("change", function () { rowsBox.textContent = ""; ticks(); draw(0, Math.min(timelineRows, attempts.length)); });
    ticks();
    draw(0, Math.min(timelineRows, attempts.length));
  }

  // -- history table with filters -------------------------------------------------------
  function history() {
    var stSel = document.getElementById("f-state"), tySel = document.getElementById("f-type"), text = document.getElementById("f-text");
    var names = {}, types = {};
    rows.forEach(function (r) { types[r.type] = 1; if (r.attempt != null) names[attempts[r.attempt].state] = 1; });
    Object.keys(names).sort().forEach(function (n) { stSel.appendChild(el("option", {value: n, text: n})); });
    Object.keys(types).sort().forEach(function (n) { tySel.appendChild(el("option", {value: n, text: n})); });
    var body = document.getElementById("history-rows"), count = document.getElementById("history-count");
    function render() {
      var s = stSel.value, ty = tySel.value, q = text.value.toLowerCase();
      body.textContent = "";
      var frag = document.createDocumentFragment(), n = 0, m = 0;
      rows.forEach(function (r) {
        var state = r.attempt != null ? attempts[r.attempt].state : "";
        if (s && state !== s) return;
        if (ty && r.type !== ty) return;
        var detail = eventText(r);
        if (q && (r.type + " " + state + " " + detail).toLowerCase().indexOf(q) < 0) return;
        m++;
        if (n >= historyRows) return;
        n++;
        frag.appendChild(el("tr", {cls: /Failed|TimedOut|Aborted/.test(r.type) ? "ev-error" : ""}, [el("td", {text: String(r.id)}),
          el("td", {text: "+" + secs(r.t)}), el("td", {text: r.type}), el("td", {text: state}), el("td", {cls: "d", title: detail, text: detail})]));
      });
      body.appendChild(frag);
      moreRows.style.display = m > n ? "" : "none";
      moreRows.textContent = "show " + Math.min(m - n, PAGE * 10) + " more of " + (m - n) + " events";
      count.textContent = m === rows.length ? rows.length + " events" : m + " of " + rows.length + " events" + (m > n ? " (first " + n + " shown)" : "");
    }
    var moreRows = document.getElementById("history-more");
    moreRows.addEventListener("click", function () { historyRows += PAGE * 10; render(); });
    function again() { historyRows = PAGE; render(); }
    [stSel, tySel].forEach(function (x) { x.addEventListener("change", again); });
    text.addEventListener("input", again);
    render();
  }

  timeline();
  history();
  // open on the state that failed, else the first one entered
  var first = null;
  Object.keys(states).forEach(function (id) { if (!first && states[id].outcome === "failed") first = id; });
  if (!first && attempts.length && attempts[0].node) first = attempts[0].node;
  if (first) select(first);
})();
