// Smarketing's first-party tracking script (served by the app at /t.js; docs/forms.md, "Web tracking").
// No third party: it talks to the app that served it and keeps one first-party cookie on this site.
(function (w, d, n) {
  "use strict";
  var CONFIG = {/*CONFIG*/};
  if (w.smarketing && w.smarketing.loaded) return;
  var queued = Array.isArray(w.smarketing) ? w.smarketing : [];
  var script = d.currentScript;
  if (!script || !script.src) return;
  var HIT = new URL("/t/hit", script.src).href;
  var PIXEL = new URL("/t/p.gif", script.src).href;
  var VID = "smk_vid", CONSENT = "smk_consent", TOKEN = "smk_c", YEAR = 31536000;
  var consented = !CONFIG.consent;
  var sent = false;
  var lastUrl = d.referrer || "";
  var clickToken = "";

  function cookie(name) {
    var parts = d.cookie ? d.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return parts[i].slice(eq + 1);
    }
    return "";
  }
  function setCookie(name, value, maxAge) {
    d.cookie = name + "=" + value + "; Max-Age=" + maxAge + "; Path=/; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  function blocked() {
    return CONFIG.dnt && (n.doNotTrack === "1" || w.doNotTrack === "1" || n.globalPrivacyControl === true);
  }
  function allowed() { return consented && !blocked(); }
  function newId() {
    var bytes = new Uint8Array(16), chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", id = "";
    w.crypto.getRandomValues(bytes);
    for (var i = 0; i < bytes.length; i++) id += chars[bytes[i] & 63];
    return id + Date.now().toString(36).slice(-6);
  }
  function visitorId() {
    var id = cookie(VID);
    if (!/^[A-Za-z0-9_-]{16,32}$/.test(id)) id = newId();
    setCookie(VID, id, YEAR);
    return id;
  }
  // An email click's token: read once, then removed from the address bar (a bookmark or a shared link must not
  // carry it).
  (function takeToken() {
    try {
      var url = new URL(location.href);
      clickToken = url.searchParams.get(TOKEN) || "";
      if (clickToken && w.history && history.replaceState) {
        url.searchParams.delete(TOKEN);
        history.replaceState(history.state, "", url.href);
      }
    } catch (e) { clickToken = ""; }
  })();

  function send(body) {
    try {
      if (n.sendBeacon && n.sendBeacon(HIT, body)) return;
    } catch (e) { /* fall back to the pixel */ }
    var img = new Image(1, 1);
    img.src = PIXEL + "?" + body;
  }
  function enc(value) { return encodeURIComponent(String(value || "").slice(0, 2000)); }

  function track() {
    if (!allowed()) return;
    var url = location.href;
    var body = "vid=" + enc(visitorId()) + "&url=" + enc(url) + "&title=" + enc(d.title) +
      "&referrer=" + enc(lastUrl) + (CONFIG.consent ? "&consent=1" : "");
    if (clickToken) { body += "&" + TOKEN + "=" + enc(clickToken); clickToken = ""; }
    lastUrl = url;
    sent = true;
    send(body);
  }
  function consent(yes) {
    if (yes) {
      consented = true;
      if (CONFIG.consent) setCookie(CONSENT, "1", YEAR);
      if (!sent) track();
    } else {
      consented = !CONFIG.consent;
      setCookie(CONSENT, "", 0);
      setCookie(VID, "", 0);
    }
  }
  if (CONFIG.consent && cookie(CONSENT) === "1") consented = true;

  w.smarketing = {
    loaded: true,
    track: track,                      // call after a pushState navigation (single-page apps)
    consent: consent,                  // the site's banner: smarketing.consent(true) once the visitor agrees
    visitorId: function () { return allowed() ? visitorId() : ""; }  // forms send it to stitch the visitor
  };
  // Calls made before the script loaded: window.smarketing = [["consent", true]] (or .push).
  for (var i = 0; i < queued.length; i++) {
    var call = queued[i];
    if (call && typeof w.smarketing[call[0]] === "function") w.smarketing[call[0]].apply(null, call.slice(1));
  }
  if (!sent) track();
})(window, document, navigator);
