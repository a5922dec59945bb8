/* The share viewer's tracking (/c/<token>/): which pages the reader saw and how long the tab was visible.
   A beat every 15 s while the tab is visible, and one when it is hidden or closed, POSTs
   {key, seconds, pages, page} to the beacon. The key is the signed id of this opening (the server refuses
   anything else); no cookies are sent. Nothing runs for a staff preview (no data-beacon-key). */
(function () {
  "use strict";
  var main = document.querySelector("[data-beacon-key]");
  if (!main || !window.fetch) return;
  var url = main.getAttribute("data-beacon-url");
  var key = main.getAttribute("data-beacon-key");
  var EVERY = 15000;
  var MAX_BEAT = 60; // seconds; the server credits at most 30 per beat anyway
  var STOP_AFTER = 4 * 3600 * 1000; // a tab left open for hours stops reporting
  var started = Date.now();
  var since = document.visibilityState === "visible" ? Date.now() : null;
  var pending = {}; // pages seen since the last beat
  var current = null;
  var stopped = false;

  function takeSeconds() {
    if (since === null) return 0;
    var now = Date.now();
    var seconds = Math.round((now - since) / 1000);
    since = document.visibilityState === "visible" ? now : null;
    return Math.max(0, Math.min(seconds, MAX_BEAT));
  }

  function beat() {
    if (stopped) return;
    if (Date.now() - started > STOP_AFTER) { stopped = true; return; }
    var seconds = takeSeconds();
    var pages = Object.keys(pending).map(Number);
    if (!seconds && !pages.length) return;
    pending = {};
    var body = { key: key, seconds: seconds, pages: pages };
    if (current !== null) body.page = current;
    fetch(url, {
      method: "POST",
      body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" },
      credentials: "omit",
      keepalive: true,
      cache: "no-store"
    }).then(function (response) {
      // A refused beat (the link was revoked, the key is stale) will not get better: stop sending.
      if (response.status >= 400 && response.status !== 429) stopped = true;
    }).catch(function () {
      pages.forEach(function (p) { pending[p] = true; }); // offline for a moment: send them with the next beat
    });
  }

  var pageEls = document.querySelectorAll(".viewer-page[data-page]");
  if (pageEls.length && "IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        // Seen: half of the page is in view, or it fills half the screen (a page taller than the screen).
        var big = entry.intersectionRect.height >= window.innerHeight * 0.5;
        if (!entry.isIntersecting || (entry.intersectionRatio < 0.5 && !big)) return;
        var n = parseInt(entry.target.getAttribute("data-page"), 10);
        if (n > 0) { pending[n] = true; current = n; }
      });
    }, { threshold: [0, 0.25, 0.5, 0.75] });
    Array.prototype.forEach.call(pageEls, function (el) { observer.observe(el); });
  } else if (pageEls.length) {
    pending[1] = true;
    current = 1;
  }

  setInterval(function () {
    if (document.visibilityState === "visible") beat();
  }, EVERY);

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      since = Date.now();
    } else {
      beat(); // counts the visible time up to now, then pauses until the tab is back
      since = null;
    }
  });
  window.addEventListener("pagehide", function () { beat(); since = null; });
})();
