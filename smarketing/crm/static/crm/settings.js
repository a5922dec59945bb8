// Settings pages: the key suggested from a custom property's label, and stage rows reordered by drag.
// The server validates both; without JavaScript the key is typed and stages move with the ↑ ↓ buttons.
(function () {
  "use strict";

  function slugify(text) {
    var key = text
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "_")
      .replace(/^_+|_+$/g, "")
      .replace(/^[0-9_]+/, "");
    return key.slice(0, 50).replace(/_+$/, "");
  }

  function wireSlug(source) {
    var target = document.getElementById(source.getAttribute("data-slug-source"));
    if (!target) return;
    // Suggest only while the key is empty or still the suggestion: never overwrite what the admin typed.
    var suggested = target.value;
    source.addEventListener("input", function () {
      if (target.value === "" || target.value === suggested) {
        suggested = slugify(source.value);
        target.value = suggested;
      }
    });
  }

  function wireSortable(body) {
    var form = body.closest("form");
    var dragged = null;
    body.addEventListener("dragstart", function (e) {
      dragged = e.target.closest("[data-stage-row]");
      if (!dragged) return;
      dragged.classList.add("dragging");
      e.dataTransfer.effectAllowed = "move";
      e.dataTransfer.setData("text/plain", dragged.id);
    });
    body.addEventListener("dragover", function (e) {
      if (!dragged) return;
      e.preventDefault();
      var over = e.target.closest("[data-stage-row]");
      if (!over || over === dragged) return;
      var box = over.getBoundingClientRect();
      var after = e.clientY > box.top + box.height / 2;
      body.insertBefore(dragged, after ? over.nextSibling : over);
    });
    body.addEventListener("drop", function (e) {
      if (!dragged) return;
      e.preventDefault();
    });
    body.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("dragging");
      dragged = null;
      // The hidden "order" inputs now follow the rows' new order; the server saves it and audits it.
      form.submit();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-slug-source]").forEach(wireSlug);
    document.querySelectorAll("[data-stage-sortable]").forEach(wireSortable);
  });
})();
