// Toasts (core/toasts.py): the confirmation after a quick action, with an Undo where undoing is cheap.
// The server sends a toast in an htmx answer's HX-Trigger header ("sm:toast"), in a JSON answer (board.js calls
// window.smToast), or renders it into #toasts after a redirect. This file shows the first two in the same live
// region and dismisses them: plain confirmations after 8 s, ones with an Undo when the Undo expires, errors
// only when closed. The Undo is a form that POSTs its signed token back, with or without this file.
(function () {
  "use strict";

  var PLAIN_SECONDS = 8;

  function region() {
    var box = document.getElementById("toasts");
    if (!box) {
      box = document.createElement("div");
      box.id = "toasts";
      box.className = "toasts";
      box.setAttribute("role", "status");
      box.setAttribute("aria-live", "polite");
      document.body.appendChild(box);
    }
    return box;
  }

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall back to the cookie */ }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  function hidden(name, value) {
    var input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    return input;
  }

  function dismiss(item) {
    if (item && item.parentNode) item.parentNode.removeChild(item);
  }

  function addClose(item) {
    if (item.querySelector(".toast-close")) return;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close link-button";
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "×";
    close.addEventListener("click", function () { dismiss(item); });
    item.appendChild(close);
  }

  function schedule(item) {
    addClose(item);
    if (item.classList.contains("message-error") || item.classList.contains("message-warning")) return;
    var seconds = PLAIN_SECONDS;
    if (item.hasAttribute("data-undo")) {
      seconds = parseInt(region().getAttribute("data-undo-seconds"), 10) || 120;
    }
    setTimeout(function () { dismiss(item); }, seconds * 1000);
  }

  function show(toast) {
    if (!toast || !toast.message) return;
    var level = toast.level || "success";
    var item = document.createElement("div");
    item.className = "toast-item message message-" + level;
    item.setAttribute("data-toast", "");
    if (level === "error") item.setAttribute("role", "alert");
    var text = document.createElement("span");
    text.className = "toast-text";
    text.textContent = toast.message;
    item.appendChild(text);
    (toast.links || []).forEach(function (link) {
      var a = document.createElement("a");
      a.className = "toast-link";
      a.href = link.url;
      a.textContent = link.label;
      item.appendChild(a);
    });
    if (toast.undo) {
      item.setAttribute("data-undo", "");
      var form = document.createElement("form");
      form.method = "post";
      form.action = toast.undo.url;
      form.className = "toast-undo";
      form.appendChild(hidden("csrfmiddlewaretoken", csrfToken()));
      form.appendChild(hidden("token", toast.undo.token));
      form.appendChild(hidden("next", window.location.pathname + window.location.search));
      var button = document.createElement("button");
      button.type = "submit";
      button.className = "button small";
      button.textContent = "Undo";
      form.appendChild(button);
      item.appendChild(form);
    }
    var box = region();
    // Newest last, at most three: a burst of quick actions does not cover the page.
    box.appendChild(item);
    while (box.children.length > 3) dismiss(box.firstElementChild);
    schedule(item);
    return item;
  }

  window.smToast = show;

  document.addEventListener("DOMContentLoaded", function () {
    region().querySelectorAll("[data-toast]").forEach(schedule);
    document.body.addEventListener("sm:toast", function (e) {
      show(e.detail && e.detail.message ? e.detail : (e.detail && e.detail.value) || null);
    });
  });
})();
