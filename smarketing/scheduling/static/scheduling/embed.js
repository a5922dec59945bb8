/* Embed a Smarketing booking page: <div data-smarketing-meet="intro-call"></div> plus this script. Each div
   gets an iframe of /meet/<slug>/?embed=1 from the server this script came from, resized to its content. */
(function () {
  "use strict";
  var script = document.currentScript;
  var origin = script ? new URL(script.src).origin : "";
  function mount(div) {
    if (div.getAttribute("data-smarketing-mounted")) return;
    var slug = div.getAttribute("data-smarketing-meet") || "";
    if (!/^[-a-zA-Z0-9_]+$/.test(slug)) return;
    div.setAttribute("data-smarketing-mounted", "1");
    var frame = document.createElement("iframe");
    frame.src = origin + "/meet/" + encodeURIComponent(slug) + "/?embed=1";
    frame.title = "Book a meeting";
    frame.loading = "lazy";
    frame.style.width = "100%";
    frame.style.border = "0";
    frame.style.minHeight = "480px";
    div.appendChild(frame);
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !event.data || event.data.smarketingMeet !== true) return;
    var frames = document.querySelectorAll("[data-smarketing-meet] iframe");
    for (var i = 0; i < frames.length; i++) {
      if (frames[i].contentWindow === event.source) {
        frames[i].style.height = Math.max(300, Math.min(5000, Number(event.data.height) || 0)) + "px";
      }
    }
  });
  function all() { Array.prototype.forEach.call(document.querySelectorAll("[data-smarketing-meet]"), mount); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();
