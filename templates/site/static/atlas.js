// Site behaviour: the phone menu, previews of cross-references and citations, and the search box
// over the prebuilt index (no server). Charts size themselves (their loader, from the renderer).
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
  // Previews of cross-references and citations (as Quarto books show them): on hover or keyboard
  // focus, a box with the caption, the section's first lines or the reference, from the prebuilt
  // index site_libs/previews.js (no request: it works from file:// too).
  var previews = window.ATLAS_PREVIEWS || {};
  var rootURL = new URL(root || "./", window.location.href).href;
  var popup = null, hideTimer = null;
  function previewKey(link) {
    var href = link.href || "";
    if (href.indexOf("#") < 0 || href.indexOf(rootURL) !== 0) return null;
    var key = href.slice(rootURL.length);
    return Object.prototype.hasOwnProperty.call(previews, key) ? key : null;
  }
  function hidePreview() {
    if (popup) { popup.hidden = true; popup.owner && popup.owner.removeAttribute("aria-describedby"); }
  }
  function showPreview(link) {
    var key = previewKey(link);
    if (!key) return;
    clearTimeout(hideTimer);
    if (!popup) {
      popup = document.createElement("div");
      popup.className = "xref-preview";
      popup.id = "xref-preview";
      popup.setAttribute("role", "tooltip");
      popup.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
      popup.addEventListener("mouseleave", function () { hideTimer = setTimeout(hidePreview, 250); });
      document.body.appendChild(popup);
    }
    var entry = previews[key];
    popup.innerHTML = '<p class="xref-preview-title"></p><div class="xref-preview-body"></div>';
    popup.firstChild.textContent = entry.title;
    popup.lastChild.innerHTML = entry.html;
    var target = key.split("#")[1], here = document.getElementById(target);
    var chart = here && link.href.split("#")[0] === window.location.href.split("#")[0] && here.querySelector(".atlas-chart svg");
    if (chart) {
      var copy = chart.cloneNode(true);
      copy.removeAttribute("id");
      copy.style.width = "100%";
      copy.style.height = "auto";
      popup.insertBefore(copy, popup.lastChild);
    }
    popup.hidden = false;
    popup.owner = link;
    link.setAttribute("aria-describedby", popup.id);
    var box = link.getBoundingClientRect(), width = Math.min(420, window.innerWidth - 16);
    popup.style.width = width + "px";
    popup.style.left = Math.max(8, Math.min(box.left + window.scrollX, window.scrollX + window.innerWidth - width - 8)) + "px";
    var below = box.bottom + window.scrollY + 6;
    popup.style.top = below + "px";
    var height = popup.getBoundingClientRect().height;
    if (box.bottom + height + 12 > window.innerHeight && box.top > height + 12) {
      popup.style.top = (box.top + window.scrollY - height - 6) + "px";
    }
  }
  document.querySelectorAll("main a[href*='#']").forEach(function (link) {
    if (!previewKey(link)) return;
    link.classList.add("has-preview");
    link.addEventListener("mouseenter", function () { showPreview(link); });
    link.addEventListener("focus", function () { showPreview(link); });
    link.addEventListener("mouseleave", function () { hideTimer = setTimeout(hidePreview, 250); });
    link.addEventListener("blur", function () { hideTimer = setTimeout(hidePreview, 100); });
  });
  document.addEventListener("keydown", function (event) { if (event.key === "Escape") hidePreview(); });

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
