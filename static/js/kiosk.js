/* The kiosk's idle timer (voting/views_kiosk.py). The server forgets a checked-in voter
   data-kiosk-idle seconds after the device's last request; this script keeps the two in step:
   while the voter is active it tells the server (a ping at most every third of the idle time), and
   when the server has heard nothing for the idle time it takes the device back to the start.
   Without JavaScript, a <noscript> meta refresh in the layout does the same. */
(function () {
  "use strict";
  var body = document.body;
  var idle = parseInt(body.getAttribute("data-kiosk-idle"), 10);
  var resetUrl = body.getAttribute("data-kiosk-reset");
  var aliveUrl = body.getAttribute("data-kiosk-alive");
  var csrf = body.getAttribute("data-csrf");
  if (!idle || !resetUrl) return;

  var lastContact = Date.now(); // the page load is a request
  var pingEvery = Math.max(5, Math.floor(idle / 3)) * 1000;
  var timer = null;
  var leaving = false;

  function leave() {
    if (leaving) return;
    leaving = true;
    window.location.assign(resetUrl);
  }

  function arm() {
    window.clearTimeout(timer);
    timer = window.setTimeout(leave, Math.max(0, lastContact + idle * 1000 - Date.now()));
  }

  function ping() {
    if (!aliveUrl || !window.fetch) return;
    lastContact = Date.now();
    arm();
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

  function activity() {
    if (Date.now() - lastContact >= pingEvery) ping();
  }

  ["pointerdown", "keydown", "input", "touchstart", "wheel"].forEach(function (name) {
    document.addEventListener(name, activity, { capture: true, passive: true });
  });
  // A form sent is a request too.
  document.addEventListener("submit", function () {
    lastContact = Date.now();
    arm();
  }, true);
  arm();
})();
