// Accessibility after htmx swaps, and arrow keys on tab lists (WCAG 2.1: 2.4.3 focus order, 4.1.3 status messages).
// When htmx replaces the element that had focus, the browser drops focus to <body> and a screen reader hears
// nothing. After every swap this script puts focus somewhere sensible and says what happened in the page's
// polite live region (#a11y-status in base.html):
//   - a form that came back with errors: focus its first invalid field; announce how many need attention;
//   - a region that says what to announce (data-announce="…"): announce it;
//   - after a POST, or when the swap removed the focused element: move focus to the region's [data-swap-focus] element,
//     else the element that labels it (aria-labelledby, e.g. a quick-action tab), else its first heading, else the
//     region itself. After a GET, focus that survived (typing in a search box, a filter select) is left alone.
// Toasts (toast.js) show confirmations visually; this file owns focus and the spoken outcome.
(function () {
  "use strict";

  var pending = null;  // what the page looked like before the current swap
  // A toast (HX-Trigger "sm:toast", fired before the swap) is read out by its own live region: saying the
  // outcome here as well would make a screen reader speak it twice.
  var toastAt = 0;
  document.addEventListener("sm:toast", function () { toastAt = Date.now(); });

  function status() { return document.getElementById("a11y-status"); }

  function announce(message) {
    var region = status();
    if (!region || !message) return;
    // Clear first so the same sentence twice in a row is read twice.
    region.textContent = "";
    setTimeout(function () { region.textContent = message; }, 50);
  }

  function focusable(el) {
    return el && !el.closest(".hidden") && (el.tabIndex >= 0 || el.hasAttribute("tabindex") ||
      /^(A|BUTTON|INPUT|SELECT|TEXTAREA|SUMMARY)$/.test(el.tagName));
  }

  function focusOn(el) {
    if (!el) return false;
    if (!focusable(el)) el.setAttribute("tabindex", "-1");
    el.focus({ preventScroll: false });
    return document.activeElement === el;
  }

  function invalidFields(region) {
    return region.querySelectorAll("[aria-invalid='true'], .has-error input, .has-error select, .has-error textarea");
  }

  function errorText(region) {
    var error = region.querySelector(".form-errors, .field .error, [role='alert']");
    return error ? error.textContent.trim() : "";
  }

  function focusTarget(region) {
    var explicit = region.querySelector("[data-swap-focus]") || (region.hasAttribute("data-swap-focus") ? region : null);
    if (explicit) return explicit;
    var labelledBy = region.getAttribute("aria-labelledby");
    var label = labelledBy && document.getElementById(labelledBy.split(" ")[0]);
    if (label && focusable(label)) return label;
    return region.querySelector("h1, h2, h3") || region;
  }

  // Focus is lost when the swap removed the focused element and htmx could not put it back (it does for an
  // element with an id). Focus that was on <body> before (a progress poll) is not "lost": nothing moves then.
  function lostFocus() {
    var active = document.activeElement;
    var gone = !active || active === document.body || !active.isConnected;
    return gone && !!pending && pending.hadFocus;
  }

  function afterSwap(region, verb) {
    var invalid = invalidFields(region);
    if (invalid.length) {
      focusOn(invalid[0]);
      var count = invalid.length === 1 ? "1 field needs" : invalid.length + " fields need";
      announce("Not saved: " + count + " attention. " + errorText(region));
      return;
    }
    var said = region.getAttribute("data-announce") ||
      (region.querySelector("[data-announce]") || { getAttribute: function () { return ""; } }).getAttribute("data-announce");
    if (!said && verb !== "get" && region.querySelector(".form-errors")) {
      said = "Not saved. " + errorText(region);
    }
    // After an explicit action (a POST) focus goes to the region every time, so the next Tab starts there.
    if (verb !== "get" || lostFocus()) focusOn(focusTarget(region));
    if (Date.now() - toastAt > 2000) announce(said || (verb !== "get" ? "Saved." : ""));
  }

  document.addEventListener("htmx:beforeSwap", function (e) {
    var target = e.detail.target;
    var active = document.activeElement;
    pending = {
      xhr: e.detail.xhr,
      id: target && target.id,
      target: target,
      hadFocus: !!(active && active !== document.body),
      verb: ((e.detail.requestConfig && e.detail.requestConfig.verb) || "get").toLowerCase(),
      done: false
    };
  });

  // afterSettle fires once per swapped element (the target and each out-of-band piece); act once per response.
  document.addEventListener("htmx:afterSettle", function (e) {
    var swap = pending;
    if (!swap || swap.done || (e.detail.xhr && swap.xhr && e.detail.xhr !== swap.xhr)) return;
    swap.done = true;
    setTimeout(function () {
      var region = (swap.target && swap.target.isConnected && swap.target) ||
        (swap.id && document.getElementById(swap.id)) || (e.target.isConnected ? e.target : null);
      if (region && region !== document.body) afterSwap(region, swap.verb);
    }, 0);
  });

  // A region that scrolls sideways (a wide table on a phone, the board) must be reachable by keyboard so its
  // hidden part can be scrolled into view (2.1.1): make it a focusable, named region when it does scroll.
  function scrollRegions(root) {
    (root || document).querySelectorAll(".table-wrap, .board, .job-code").forEach(function (el) {
      var scrolls = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
      var hasFocusable = el.querySelector("a[href], button, input, select, textarea, [tabindex]");
      if (scrolls && !hasFocusable && !el.hasAttribute("tabindex")) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("role", "region");
        if (!el.hasAttribute("aria-label") && !el.hasAttribute("aria-labelledby")) {
          var section = el.closest("section[aria-labelledby]");
          var heading = section && document.getElementById(section.getAttribute("aria-labelledby"));
          el.setAttribute("aria-label", (heading ? heading.textContent.trim() + ": " : "") + "scrollable table");
        }
      }
    });
  }
  scrollRegions();
  var resizeTimer = null;
  window.addEventListener("resize", function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(scrollRegions, 200); });
  document.addEventListener("htmx:afterSettle", function () { scrollRegions(); });

  // Tab lists (role=tablist): Left/Right (and Home/End) move between tabs and select them, as in the ARIA
  // Authoring Practices; only the selected tab is in the Tab order, so Tab goes on to its panel.
  function tabsOf(list) { return Array.prototype.slice.call(list.querySelectorAll("[role='tab']")); }

  function syncTabIndex(list) {
    tabsOf(list).forEach(function (tab) {
      tab.tabIndex = tab.getAttribute("aria-selected") === "true" ? 0 : -1;
    });
  }

  document.querySelectorAll("[role='tablist']").forEach(syncTabIndex);
  document.addEventListener("click", function (e) {
    var tab = e.target.closest("[role='tablist'] [role='tab']");
    if (tab) setTimeout(function () { syncTabIndex(tab.closest("[role='tablist']")); }, 0);
  });
  document.addEventListener("keydown", function (e) {
    var tab = e.target.closest && e.target.closest("[role='tablist'] [role='tab']");
    if (!tab || e.altKey || e.ctrlKey || e.metaKey) return;
    var tabs = tabsOf(tab.closest("[role='tablist']"));
    var i = tabs.indexOf(tab);
    var next = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    var to = tabs[(next + tabs.length) % tabs.length];
    to.focus();
    // Select it the way a click would (records.js shows the panel), then keep focus on the tab itself.
    to.click();
    to.focus();
  });
})();
