// Pipeline board: drag a deal card to another stage (HTML5 drag and drop), or use the card's "Move" form.
// Both POST to deal_move and ask for JSON; the card only stays in its new column when the server agrees.
// On refusal (exit criteria, a lost reason, permission) the server's message is shown and the card goes back.
(function () {
  "use strict";

  var board = document.querySelector("[data-board]");
  if (!board) return;
  var errorBox = document.getElementById("board-error-box");
  var errorText = document.getElementById("board-error");
  var errorFixes = document.getElementById("board-error-fixes");
  var status = document.getElementById("board-status");
  var dragged = null;
  var errorTimer = null;

  function csrfToken() {
    try {
      var headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
      if (headers["X-CSRFToken"]) return headers["X-CSRFToken"];
    } catch (e) { /* fall back to the cookie */ }
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The refusal, with links to where the user can do what it asks (e.g. "Add a contact" on that deal).
  function showError(message, fixes) {
    if (!errorBox) { window.alert(message); return; }
    errorText.textContent = message;
    errorFixes.textContent = "";
    (fixes || []).forEach(function (fix) {
      var link = document.createElement("a");
      link.href = fix.url;
      link.textContent = fix.label;
      link.className = "toast-link";
      errorFixes.appendChild(link);
    });
    errorBox.classList.remove("hidden");
    clearTimeout(errorTimer);
    if (!(fixes && fixes.length)) errorTimer = setTimeout(hideError, 10000);  // a way out stays until used
  }

  function hideError() {
    if (errorBox) errorBox.classList.add("hidden");
  }

  function announce(message) {
    if (status) status.textContent = message;
  }

  function refocus(card) {
    var target = card.querySelector("details summary") || card.querySelector("a");
    if (target) target.focus();
  }

  function columnOf(stageId) {
    return board.querySelector(".board-column[data-stage-id='" + stageId + "']");
  }

  function updateColumns(columns) {
    Object.keys(columns || {}).forEach(function (stageId) {
      var column = columnOf(stageId);
      if (!column) return;
      column.querySelector("[data-column-count]").textContent = columns[stageId].count;
      column.querySelector("[data-column-total]").textContent = columns[stageId].total;
      var chip = document.querySelector("[data-nav-count='" + stageId + "']");
      if (chip) chip.textContent = columns[stageId].count;
    });
  }

  function move(card, toColumn) {
    var fromColumn = card.closest(".board-column");
    if (!toColumn || toColumn === fromColumn || !card.dataset.moveUrl) return;
    var name = card.dataset.dealName || "this deal";
    var reason = "";
    if (toColumn.dataset.stageOutcome === "lost") {
      reason = window.prompt("Why was “" + name + "” lost?");
      if (reason === null) return;  // cancelled: nothing moves
      reason = reason.trim();
      if (!reason) { showError("Say why the deal was lost; it was not moved."); return; }
    }
    var home = card.parentNode;
    var homeNext = card.nextSibling;
    // Moving the card's node drops keyboard focus to <body>; put it back on the card's "Move to…" control.
    var hadFocus = card.contains(document.activeElement);
    toColumn.querySelector(".board-cards").prepend(card);
    if (hadFocus) refocus(card);
    card.classList.add("saving");
    hideError();

    var body = new FormData();
    body.append("stage", toColumn.dataset.stageId);
    body.append("reason", reason);
    body.append("board_owner", board.dataset.boardOwner || "");

    function putBack(message, fixes) {
      var focused = card.contains(document.activeElement);
      home.insertBefore(card, homeNext && homeNext.parentNode === home ? homeNext : null);
      if (focused || hadFocus) refocus(card);
      card.classList.remove("saving");
      showError(message, fixes);
      announce(message);
    }

    fetch(card.dataset.moveUrl, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" }
    }).then(function (response) {
      return response.json().catch(function () {
        return { ok: false, error: "The server answered " + response.status + "; the deal was not moved." };
      });
    }).then(function (data) {
      if (!data.ok) { putBack(data.error || "The deal could not be moved.", data.fixes); return; }
      card.classList.remove("saving", "is-stalled");
      var select = card.querySelector("select[name='stage']");
      if (select) select.value = String(data.stage);
      var toggle = card.querySelector("details");
      var focused = card.contains(document.activeElement);
      if (toggle) toggle.open = false;
      if (focused) refocus(card);
      var days = card.querySelector("[data-days]");
      if (days) days.textContent = "0 d in stage";
      var stalled = card.querySelector("[data-stalled]");
      if (stalled) stalled.remove();
      updateColumns(data.columns);
      if (data.toast && window.smToast) window.smToast(data.toast);  // the live region announces it
      else announce(data.message || "Moved.");
    }).catch(function () {
      putBack("Network problem: the deal was not moved. Try again.");
    });
  }

  // Drag and drop
  board.addEventListener("dragstart", function (e) {
    var card = e.target.closest && e.target.closest(".deal-card[draggable='true']");
    if (!card) return;
    dragged = card;
    card.classList.add("dragging");
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.dealId);
  });

  board.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    board.querySelectorAll(".drop-target").forEach(function (el) { el.classList.remove("drop-target"); });
  });

  board.addEventListener("dragover", function (e) {
    if (!dragged) return;
    var column = e.target.closest(".board-column");
    if (!column) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    board.querySelectorAll(".drop-target").forEach(function (el) {
      if (el.closest(".board-column") !== column) el.classList.remove("drop-target");
    });
    column.querySelector(".board-cards").classList.add("drop-target");
  });

  board.addEventListener("dragleave", function (e) {
    var column = e.target.closest(".board-column");
    if (column && !column.contains(e.relatedTarget)) {
      column.querySelector(".board-cards").classList.remove("drop-target");
    }
  });

  board.addEventListener("drop", function (e) {
    if (!dragged) return;
    var column = e.target.closest(".board-column");
    if (!column) return;
    e.preventDefault();
    var card = dragged;
    column.querySelector(".board-cards").classList.remove("drop-target");
    move(card, column);
  });

  // The keyboard/phone alternative: the card's "Move" form, sent the same way.
  board.addEventListener("submit", function (e) {
    var form = e.target.closest(".card-move");
    if (!form) return;
    e.preventDefault();
    var card = form.closest(".deal-card");
    var select = form.querySelector("select[name='stage']");
    move(card, columnOf(select.value));
  });

  if (errorBox) errorBox.addEventListener("click", function (e) { if (!e.target.closest("a")) hideError(); });
})();
