/* Smarketing form embed (formscapture). Renders the form into every <div data-smarketing-form="{{ public_id|escapejs }}">
   on the page, posts it with fetch (CORS, no cookies) and shows errors and the thank-you message inline.
   Everything from the server is inserted as text, never as HTML. */
(function () {
  "use strict";
  var FORM_ID = "{{ public_id|escapejs }}";
  var script = document.currentScript;
  var marker = "/f/" + FORM_ID + "/embed.js";
  var base = script && script.src.indexOf(marker) > 0 ? script.src.slice(0, script.src.indexOf(marker)) : "";
  var STYLE_ID = "smk-embed-style";
  var CSS = ".smk-embed{font:inherit;max-width:34rem}.smk-embed .smk-field{margin:0 0 1rem;border:0;padding:0}" +
    ".smk-embed label,.smk-embed legend{display:block;font-weight:600;margin-bottom:.25rem}" +
    ".smk-embed .smk-check{display:flex;gap:.5rem;align-items:flex-start}.smk-embed .smk-check label{font-weight:normal}" +
    ".smk-embed input[type=text],.smk-embed input[type=email],.smk-embed input[type=tel],.smk-embed input[type=number]," +
    ".smk-embed input[type=date],.smk-embed select,.smk-embed textarea{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;border:1px solid #8a94a6;border-radius:6px}" +
    ".smk-embed .smk-error{color:#b42318;margin:.25rem 0 0;font-size:.9em}.smk-embed .smk-hp{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}" +
    ".smk-embed button{font:inherit;font-weight:600;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#2f5bd3;color:#fff;cursor:pointer}";
  var INPUT_TYPES = {text: "text", email: "email", phone: "tel", number: "number", date: "date"};
  var counter = 0;

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (attrs[name] !== false && attrs[name] !== null && attrs[name] !== undefined) node.setAttribute(name, attrs[name] === true ? "" : attrs[name]);
    });
    if (text) node.textContent = text;
    return node;
  }

  function cookie(name) {
    var found = document.cookie.split("; ").filter(function (part) { return part.indexOf(name + "=") === 0; })[0];
    return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
  }

  function queryParam(name) {
    try { return new URLSearchParams(window.location.search).get(name) || ""; } catch (e) { return ""; }
  }

  function addStyle() {
    if (document.getElementById(STYLE_ID)) return;
    var style = el("style", {id: STYLE_ID});
    style.textContent = CSS;
    (document.head || document.documentElement).appendChild(style);
  }

  function labelText(field) {
    return field.label + (field.required ? " *" : "");
  }

  function renderField(form, field, prefix) {
    var id = prefix + field.key;
    if (field.type === "hidden") {
      var value = field.source === "static" ? (field.value || "") : queryParam(field.source);
      form.appendChild(el("input", {type: "hidden", name: field.key, value: value}));
      return;
    }
    var wrap, input;
    if (field.type === "radio" || field.type === "checkboxes") {
      wrap = el("fieldset", {"class": "smk-field", "data-key": field.key});
      wrap.appendChild(el("legend", {}, labelText(field)));
      (field.choices || []).forEach(function (choice, i) {
        var row = el("div", {"class": "smk-check"});
        row.appendChild(el("input", {type: field.type === "radio" ? "radio" : "checkbox", id: id + "-" + i, name: field.key, value: choice}));
        row.appendChild(el("label", {"for": id + "-" + i}, choice));
        wrap.appendChild(row);
      });
    } else if (field.type === "checkbox") {
      wrap = el("div", {"class": "smk-field smk-check", "data-key": field.key});
      wrap.appendChild(el("input", {type: "checkbox", id: id, name: field.key, value: "1", required: !!field.required}));
      wrap.appendChild(el("label", {"for": id}, labelText(field)));
    } else {
      wrap = el("div", {"class": "smk-field", "data-key": field.key});
      wrap.appendChild(el("label", {"for": id}, labelText(field)));
      if (field.type === "textarea") {
        input = el("textarea", {id: id, name: field.key, rows: "4", placeholder: field.placeholder || null, required: !!field.required});
      } else if (field.type === "select") {
        input = el("select", {id: id, name: field.key, required: !!field.required});
        input.appendChild(el("option", {value: ""}, "Choose…"));
        (field.choices || []).forEach(function (choice) { input.appendChild(el("option", {value: choice}, choice)); });
      } else {
        input = el("input", {type: INPUT_TYPES[field.type] || "text", id: id, name: field.key,
          placeholder: field.placeholder || null, required: !!field.required,
          autocomplete: field.type === "email" ? "email" : null});
      }
      wrap.appendChild(input);
    }
    if (field.help_text) wrap.appendChild(el("p", {"class": "smk-help"}, field.help_text));
    form.appendChild(wrap);
  }

  function collect(form, definition) {
    var values = {};
    definition.fields.forEach(function (field) {
      var inputs = form.querySelectorAll("[name='" + field.key + "']");
      if (field.type === "checkboxes") {
        values[field.key] = Array.prototype.filter.call(inputs, function (i) { return i.checked; }).map(function (i) { return i.value; });
      } else if (field.type === "checkbox") {
        values[field.key] = inputs[0] && inputs[0].checked;
      } else if (field.type === "radio") {
        var chosen = Array.prototype.filter.call(inputs, function (i) { return i.checked; })[0];
        values[field.key] = chosen ? chosen.value : "";
      } else if (inputs[0]) {
        values[field.key] = inputs[0].value;
      }
    });
    return values;
  }

  function showErrors(form, errors) {
    Array.prototype.forEach.call(form.querySelectorAll(".smk-error"), function (node) { node.parentNode.removeChild(node); });
    var first = null;
    Object.keys(errors || {}).forEach(function (key) {
      var wrap = key === "__all__" ? form.querySelector(".smk-form-errors") : form.querySelector("[data-key='" + key + "']");
      if (!wrap) wrap = form.querySelector(".smk-form-errors");
      (errors[key] || []).forEach(function (message) {
        var node = el("p", {"class": "smk-error", role: "alert"}, message);
        wrap.appendChild(node);
        first = first || wrap;
      });
      var control = wrap.querySelector("input,select,textarea");
      if (control) control.setAttribute("aria-invalid", "true");
    });
    var focusable = first && first.querySelector("input,select,textarea");
    if (focusable) focusable.focus();
  }

  function render(container, definition) {
    var prefix = "smk-" + FORM_ID + "-" + (counter++) + "-";
    var form = el("form", {"class": "smk-embed", novalidate: true});
    if (definition.title) form.appendChild(el("h2", {}, definition.title));
    if (definition.intro) form.appendChild(el("p", {"class": "smk-intro"}, definition.intro));
    form.appendChild(el("div", {"class": "smk-form-errors", "aria-live": "polite"}));
    var trap = el("div", {"class": "smk-hp", "aria-hidden": "true"});
    trap.appendChild(el("input", {type: "text", name: definition.honeypot, tabindex: "-1", autocomplete: "off"}));
    form.appendChild(trap);
    definition.fields.forEach(function (field) { renderField(form, field, prefix); });
    if (definition.consent) {
      var consent = el("div", {"class": "smk-field smk-check", "data-key": "_consent"});
      consent.appendChild(el("input", {type: "checkbox", id: prefix + "consent", name: "_consent", value: "1", required: !!definition.consent.required}));
      consent.appendChild(el("label", {"for": prefix + "consent"}, definition.consent.text + (definition.consent.required ? " *" : "")));
      form.appendChild(consent);
    }
    var button = el("button", {type: "submit"}, definition.submit_label || "Submit");
    form.appendChild(button);
    var token = definition.token;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      button.disabled = true;
      var payload = collect(form, definition);
      payload._token = token;
      payload[definition.honeypot] = form.querySelector("[name='" + definition.honeypot + "']").value;
      payload._page = window.location.href;
      payload._referrer = document.referrer;
      var consentBox = form.querySelector("[name='_consent']");
      if (consentBox) payload._consent = consentBox.checked;
      var visitor = cookie("smk_vid");
      if (visitor && !(visitor in payload)) payload.visitor_id = visitor;
      fetch(base + definition.submit_url, {
        method: "POST", mode: "cors", credentials: "omit",
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
        body: JSON.stringify(payload)
      }).then(function (response) {
        return response.json().catch(function () { return {ok: false, errors: {__all__: ["Something went wrong; please try again."]}}; });
      }).then(function (answer) {
        button.disabled = false;
        if (answer.token) token = answer.token;
        if (answer.ok) {
          if (answer.redirect && /^https?:\/\//.test(answer.redirect)) { window.location.assign(answer.redirect); return; }
          var done = el("p", {"class": "smk-success", role: "status"}, answer.message || definition.success_message);
          container.replaceChildren(done);
        } else if (answer.error === "rate_limited") {
          showErrors(form, {__all__: ["Too many submissions; please try again in a minute."]});
        } else {
          showErrors(form, answer.errors || {__all__: ["Something went wrong; please try again."]});
        }
      }, function () {
        button.disabled = false;
        showErrors(form, {__all__: ["The form could not be sent; please check your connection and try again."]});
      });
    });
    container.replaceChildren(form);
  }

  function start() {
    var containers = document.querySelectorAll("[data-smarketing-form='" + FORM_ID + "']");
    if (!containers.length || !base) return;
    addStyle();
    var visitor = cookie("smk_vid");
    var url = base + "/f/" + FORM_ID + "/definition.json" + (visitor ? "?visitor_id=" + encodeURIComponent(visitor) : "");
    fetch(url, {mode: "cors", credentials: "omit", headers: {"Accept": "application/json"}})
      .then(function (response) { if (!response.ok) throw new Error("form unavailable"); return response.json(); })
      .then(function (definition) {
        Array.prototype.forEach.call(containers, function (container) { render(container, definition); });
      })
      .catch(function () {
        Array.prototype.forEach.call(containers, function (container) {
          container.replaceChildren(el("p", {"class": "smk-error"}, "This form is not available right now."));
        });
      });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
