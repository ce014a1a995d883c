// The console's one script. The board follows the live feed: each change reloads the
// rows (htmx swaps them in place), so new incidents appear and status changes move rows
// without a full reload.
// Keys: j / k select the next / previous incident, x ticks it for the bulk buttons,
// a acknowledges it, r resolves it, Enter opens it. Ticks survive the live refresh.
(function () {
  "use strict";
  // Copy buttons: data-copy names the element whose text they copy.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-copy]");
    if (!button || !navigator.clipboard) { return; }
    var source = document.getElementById(button.dataset.copy);
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = "Copied";
    });
  });
  // Times in the reader's own time zone (the page says UTC without scripts).
  var format = window.Intl ? new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" }) : null;
  function localTimes(root) {
    if (!format) { return; }
    Array.prototype.forEach.call(root.querySelectorAll("time[datetime]"), function (element) {
      var moment = new Date(element.getAttribute("datetime"));
      if (isNaN(moment.getTime())) { return; }
      element.title = element.getAttribute("datetime");
      element.textContent = format.format(moment);
    });
  }
  localTimes(document);
  document.body.addEventListener("htmx:afterSwap", function (event) { localTimes(event.target); });

  var rows = document.getElementById("rows");
  if (!rows) { return; }
  // The incident number of the selected row; kept for the tab, so that it survives a
  // form posted without htmx (a full page load) too.
  var store = window.sessionStorage;
  var selected = store ? store.getItem("opsknight.board.selected") : null;

  function list() { return Array.prototype.slice.call(rows.querySelectorAll("tr[data-number]")); }

  function mark() {
    list().forEach(function (row) {
      var on = row.dataset.number === selected;
      row.classList.toggle("selected", on);
      if (on) { row.setAttribute("aria-selected", "true"); } else { row.removeAttribute("aria-selected"); }
    });
  }

  var pending = false;
  function refresh() {
    if (pending) { return; }
    pending = true;
    window.htmx.ajax("GET", rows.dataset.source, { target: "#rows", swap: "innerHTML" })
      .then(function () { pending = false; }, function () { pending = false; });
  }
  // Ticked incidents (ids), so that a refresh of the rows keeps them ticked.
  var ticked = {};
  function boxes() { return Array.prototype.slice.call(rows.querySelectorAll('input[name="ids"]')); }
  function retick() { boxes().forEach(function (box) { box.checked = !!ticked[box.value]; }); }
  rows.addEventListener("change", function (event) {
    if (event.target.name === "ids") { ticked[event.target.value] = event.target.checked; }
  });
  var tickAll = document.getElementById("tick-all");
  if (tickAll) {
    tickAll.addEventListener("change", function () {
      boxes().forEach(function (box) { box.checked = tickAll.checked; ticked[box.value] = tickAll.checked; });
    });
  }
  var bulk = document.getElementById("bulk");
  if (bulk) {
    // Once a bulk action went through, its incidents are no longer ticked.
    bulk.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail.successful) { ticked = {}; if (tickAll) { tickAll.checked = false; } retick(); }
    });
  }

  // Rows swapped in by a refresh get the selection back once htmx has settled them.
  // The count under the board follows the rows (a hidden row carries it).
  function recount() {
    var carrier = rows.querySelector("tr[data-total]");
    var count = document.getElementById("board-count");
    if (carrier && count) { count.textContent = carrier.dataset.total; }
  }
  function restore() { mark(); retick(); recount(); }
  restore();
  document.body.addEventListener("htmx:afterSwap", restore);
  document.body.addEventListener("htmx:afterSettle", restore);

  if (window.EventSource) {
    var feed = new EventSource(rows.dataset.feed);
    rows.dataset.events.split(" ").forEach(function (name) { feed.addEventListener(name, refresh); });
    feed.addEventListener("error", function () { rows.setAttribute("aria-busy", "true"); });
    feed.addEventListener("open", function () { rows.removeAttribute("aria-busy"); refresh(); });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (event.target.closest && event.target.closest("input:not([type=checkbox]), textarea, select, button, a")) { return; }
    var all = list();
    if (!all.length) { return; }
    var at = all.findIndex(function (row) { return row.dataset.number === selected; });
    var row = at >= 0 ? all[at] : null;
    if (event.key === "j" || event.key === "k") {
      at = event.key === "j" ? Math.min(at + 1, all.length - 1) : Math.max(at - 1, 0);
      selected = all[at].dataset.number;
      if (store) { store.setItem("opsknight.board.selected", selected); }
      mark();
      all[at].scrollIntoView({ block: "nearest" });
    } else if (event.key === "x" && row) {
      var box = row.querySelector('input[name="ids"]');
      if (box) { box.checked = !box.checked; ticked[box.value] = box.checked; }
    } else if ((event.key === "a" || event.key === "r") && row) {
      var label = event.key === "a" ? "Acknowledge #" : "Resolve #";
      var button = row.querySelector('button[aria-label^="' + label + '"]');
      if (button) { button.click(); }
    } else if (event.key === "Enter" && row) {
      var link = row.querySelector("a");
      if (link) { link.click(); }
    } else {
      return;
    }
    event.preventDefault();
  });
})();
