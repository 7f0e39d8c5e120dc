// The Stream page's live tail: entries arrive as server-sent events from
// the URL in the table's data-events attribute and are added at the top.
// Every field is set as text, never as HTML.
(function () {
  "use strict";
  var table = document.getElementById("tail");
  var state = document.getElementById("live-state");
  if (!table || !table.dataset.events || !window.EventSource) {
    return;
  }
  var body = table.tBodies[0];
  var maxRows = 200;
  var source = new EventSource(table.dataset.events);

  function cell(row, text, cls) {
    var td = row.insertCell(-1);
    td.textContent = text;
    if (cls) {
      td.className = cls;
    }
    return td;
  }

  source.addEventListener("open", function () {
    state.textContent = "live";
    state.className = "live on";
  });
  source.addEventListener("error", function () {
    state.textContent = "reconnecting…";
    state.className = "live";
  });
  source.addEventListener("notice", function (ev) {
    state.textContent = ev.data;
  });
  source.addEventListener("failure", function (ev) {
    state.textContent = "stopped: " + JSON.parse(ev.data);
    state.className = "live";
    source.close();
  });
  source.addEventListener("entry", function (ev) {
    var e = JSON.parse(ev.data);
    var row = body.insertRow(0);
    row.className = "fresh";
    row.dataset.seq = String(e.seq);
    cell(row, String(e.seq), "num");
    cell(row, e.namespace === "" ? "(default)" : e.namespace);
    var key = cell(row, "", "key");
    var a = document.createElement("a");
    a.setAttribute("href", e.link);
    a.textContent = e.key;
    key.appendChild(a);
    cell(row, e.action);
    cell(row, String(e.version), "num");
    cell(row, e.type);
    cell(row, e.time);
    cell(row, e.value, "json");
    while (body.rows.length > maxRows) {
      body.deleteRow(-1);
    }
  });
})();
