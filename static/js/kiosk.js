/* The kiosk's idle timer (voting/services/kiosk.py, voting/views/kiosk.py). After data-kiosk-idle seconds
   without any interaction, the page asks "Are you still here?" in a modal alert dialog that takes the
   focus; whoever answers keeps their page exactly as it was (the ballot and its choices), and if nobody
   answers within data-kiosk-warning seconds the device returns to the start.

   Interaction is anything a person does: keys, pointer, touch, wheel and scrolling, focus moving
   (a screen reader's virtual cursor moves it), text input, selection changes. The server is told
   that the voter is active at most every data-kiosk-ping seconds, and once when the page loads: from
   then on the server forgets the voter too if it hears nothing for longer than this page would
   wait. Without JavaScript no dialog appears and nothing resets a ballot page. */
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-kiosk-idle"), 10) * 1000;
  var warning = parseInt(body.getAttribute("data-kiosk-warning"), 10) * 1000;
  var pingEvery = parseInt(body.getAttribute("data-kiosk-ping"), 10) * 1000 || 15000;
  var resetUrl = body.getAttribute("data-kiosk-reset");
  var aliveUrl = body.getAttribute("data-kiosk-alive");
  var csrf = body.getAttribute("data-csrf");
  var dialog = document.getElementById("kiosk-idle");
  var answer = document.getElementById("kiosk-idle-continue");
  var countdown = dialog ? dialog.querySelector("[data-kiosk-countdown]") : null;
  if (!idle || !resetUrl || !dialog || !answer) return;

  var lastActivity = Date.now();
  var lastPing = 0;
  var warningUntil = 0; // while the dialog is open: when the device returns to the start
  var returnFocus = null;
  var timer = null;
  var ticker = null;
  var leaving = false;

  function leave() {
    if (leaving) return;
    leaving = true;
    window.clearTimeout(timer);
    window.clearInterval(ticker);
    window.location.assign(resetUrl);
  }

  function ping(now) {
    if (!aliveUrl || !window.fetch) return;
    lastPing = now;
    window
      .fetch(aliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrf || "" },
      })
      .then(function (response) {
        if (response.status === 410) leave(); // the server has already forgotten the voter
      })
      .catch(function () {
        /* offline for a moment: the timer still returns the device to the start */
      });
  }

  // Wakes when the idle time since the last interaction may be over; interactions only move
  // lastActivity, so a stream of events costs nothing.
  function check() {
    if (warningUntil || leaving) return;
    var left = lastActivity + idle - Date.now();
    if (left > 0) {
      timer = window.setTimeout(check, left);
    } else {
      warn();
    }
  }

  function showCountdown() {
    var seconds = Math.max(0, Math.ceil((warningUntil - Date.now()) / 1000));
    if (countdown) countdown.textContent = String(seconds);
    if (Date.now() >= warningUntil) leave();
  }

  function warn() {
    warningUntil = Date.now() + warning;
    returnFocus = document.activeElement;
    showCountdown();
    if (typeof dialog.showModal === "function") {
      dialog.showModal(); // the rest of the page is inert; the focus goes to the answer
    } else {
      dialog.setAttribute("open", "");
    }
    answer.focus();
    ticker = window.setInterval(showCountdown, 250);
  }

  function stay() {
    if (!warningUntil || leaving) return;
    window.clearInterval(ticker);
    warningUntil = 0;
    if (dialog.open) dialog.close();
    if (returnFocus && typeof returnFocus.focus === "function" && returnFocus !== document.body) {
      returnFocus.focus({ preventScroll: true }); // back where the voter was reading or choosing
    }
    returnFocus = null;
    lastActivity = Date.now();
    ping(lastActivity);
    check();
  }

  function activity() {
    if (warningUntil || leaving) return; // while asking, only an answer counts (below)
    var now = Date.now();
    lastActivity = now;
    if (now - lastPing >= pingEvery) ping(now);
  }

  [
    "keydown",
    "pointerdown",
    "pointermove",
    "touchstart",
    "wheel",
    "scroll",
    "focusin",
    "input",
    "change",
    "selectionchange",
  ].forEach(function (name) {
    document.addEventListener(name, activity, { capture: true, passive: true });
  });
  window.addEventListener("scroll", activity, { passive: true });

  answer.addEventListener("click", stay);
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault(); // Escape answers too: the voter is here
    stay();
  });
  dialog.addEventListener("pointerdown", function (event) {
    if (event.target === dialog) stay(); // a tap on the backdrop around the dialog
  });

  ping(Date.now()); // tells the server this page watches for idleness
  check();
})();
