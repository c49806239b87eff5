// Site behaviour: the phone menu, chart sizing and the search box over the prebuilt index (no server).
(function () {
  "use strict";
  var root = document.body.getAttribute("data-root") || "";
  var toggle = document.querySelector(".menu-toggle");
  if (toggle) {
    toggle.addEventListener("click", function () {
      var open = document.body.classList.toggle("sidebar-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }
  // Charts narrower than their natural size shrink only to MIN_CHART_SCALE, so labels stay
  // readable on a phone; below that the chart's box scrolls sideways.
  var MIN_CHART_SCALE = 0.72;
  function fitChart(box) {
    var svg = box.querySelector("svg");
    var natural = svg && parseFloat(svg.getAttribute("width"));
    if (!natural) return;
    // the column's width, not the box's: vega-embed makes the box shrink-wrap its SVG
    var column = box.parentElement ? box.parentElement.clientWidth : box.clientWidth;
    var width = Math.max(Math.min(natural, column), natural * MIN_CHART_SCALE);
    svg.style.width = width + "px";
    svg.style.maxWidth = "none";
    svg.style.height = "auto";
  }
  function fitCharts() { document.querySelectorAll(".atlas-chart").forEach(fitChart); }
  if (window.MutationObserver) {
    document.querySelectorAll(".atlas-chart").forEach(function (box) {
      new MutationObserver(function () { fitChart(box); }).observe(box, {childList: true, subtree: true});
    });
  }
  window.addEventListener("resize", fitCharts);
  window.addEventListener("load", fitCharts);

  var input = document.getElementById("search-input");
  var list = document.getElementById("search-results");
  if (!input || !list) return;

  function snippet(text, term) {
    var at = text.toLowerCase().indexOf(term);
    var start = Math.max(0, at - 60);
    return (start > 0 ? "\u2026" : "") + text.slice(start, start + 160) + (text.length > start + 160 ? "\u2026" : "");
  }

  function search(query) {
    var index = window.ATLAS_SEARCH_INDEX || [];
    var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
    if (!terms.length) return [];
    return index.filter(function (entry) {
      var haystack = (entry.title + " " + entry.section + " " + entry.text).toLowerCase();
      return terms.every(function (term) { return haystack.indexOf(term) !== -1; });
    }).slice(0, 12);
  }

  function show(results, query) {
    list.textContent = "";
    list.hidden = false;
    if (!results.length) {
      var none = document.createElement("li");
      none.textContent = "No results for \u201c" + query + "\u201d";
      list.appendChild(none);
      return;
    }
    var first = query.toLowerCase().split(/\s+/).filter(Boolean)[0];
    results.forEach(function (entry) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = root + entry.url;
      link.textContent = entry.section === entry.title ? entry.title : entry.title + " \u203a " + entry.section;
      var text = document.createElement("span");
      text.className = "snippet";
      text.textContent = snippet(entry.text, first);
      item.appendChild(link);
      item.appendChild(text);
      list.appendChild(item);
    });
  }

  input.addEventListener("input", function () {
    var query = input.value.trim();
    if (!query) { list.hidden = true; return; }
    show(search(query), query);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { input.value = ""; list.hidden = true; }
    if (event.key === "Enter") {
      var first = list.querySelector("a");
      if (first) window.location.href = first.href;
    }
  });
})();
