// Sort and filter the dossier index in the browser: no server, no library.
(function () {
  "use strict";
  var table = document.getElementById("dossier-index");
  if (!table) { return; }
  var body = table.tBodies[0];
  var rows = Array.prototype.slice.call(body.rows);
  var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
  var q = document.getElementById("q"), tier = document.getElementById("tier");
  var route = document.getElementById("route"), shown = document.getElementById("shown");
  function filter() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean), n = 0;
    rows.forEach(function (r, i) {
      var ok = words.every(function (w) { return texts[i].indexOf(w) >= 0; }) &&
        (!tier.value || r.getAttribute("data-tier") === tier.value) &&
        (!route || !route.value || r.getAttribute("data-route") === route.value);
      r.hidden = !ok;
      if (ok) { n += 1; }
    });
    shown.textContent = n + " shown";
  }
  [q, tier, route].forEach(function (el) { if (el) { el.addEventListener("input", filter); } });
  var heads = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(heads, function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var num = th.getAttribute("data-type") === "num";
      var keyed = rows.map(function (r, i) {
        var c = r.cells[col], v = c.getAttribute("data-v");
        return { r: r, i: i, k: num ? parseFloat(v !== null ? v : c.textContent) : c.textContent.trim().toLowerCase() };
      });
      keyed.sort(function (a, b) {
        var d = a.k < b.k ? -1 : (a.k > b.k ? 1 : 0);
        return (asc ? d : -d) || a.i - b.i;
      });
      keyed.forEach(function (o) { body.appendChild(o.r); });
    });
  });
})();
