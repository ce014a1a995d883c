// The board follows the live feed: each change reloads the rows (htmx swaps them in
// place), so new incidents appear and status changes move rows without a full reload.
(function () {
  "use strict";
  var rows = document.getElementById("rows");
  if (!rows || !window.EventSource) { return; }
  var pending = false;
  function refresh() {
    if (pending) { return; }
    pending = true;
    window.htmx.ajax("GET", rows.dataset.source, { target: "#rows", swap: "innerHTML" })
      .then(function () { pending = false; }, function () { pending = false; });
  }
  var feed = new EventSource(rows.dataset.feed);
  feed.onmessage = refresh;  // events without a name
  rows.dataset.events.split(" ").forEach(function (name) {
    feed.addEventListener(name, refresh);
  });
  feed.addEventListener("error", function () { rows.setAttribute("aria-busy", "true"); });
  feed.addEventListener("open", function () { rows.removeAttribute("aria-busy"); refresh(); });
})();
