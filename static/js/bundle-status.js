/* The public record while its download is built: instead of reloading the page, ask the small
   status endpoint every few seconds and show the progress in the page's polite live region; when
   the zip is ready (or the build failed), put the server's status block — the download link — in
   its place and stop. Without this script the page offers a "check again" link. */
(function () {
  "use strict";
  var box = document.querySelector("[data-bundle-poll]");
  if (!box || !window.fetch) return;
  var live = box.querySelector("[data-bundle-live]");
  var again = box.querySelector("[data-check-again]");
  var url = box.getAttribute("data-bundle-poll");
  var EVERY_MS = 2000;
  if (again) again.hidden = true;

  function set(selector, text) {
    var element = live.querySelector(selector);
    if (element && element.textContent !== text) element.textContent = text;
  }

  function show(state) {
    box.setAttribute("data-status", state.status);
    if (state.html) {
      live.innerHTML = state.html;
      return true;
    }
    set("[data-bundle-label]", state.message);
    set("[data-bundle-percent]", state.progress + "%");
    var bar = live.querySelector("[data-bundle-progress]");
    if (bar) {
      bar.value = state.progress;
      bar.textContent = state.progress + "%";
    }
    return false;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (state) {
        if (!show(state)) window.setTimeout(poll, EVERY_MS);
      })
      .catch(function () {
        // The network or the server failed: fall back to the link that works without a script.
        if (again) again.hidden = false;
      });
  }

  window.setTimeout(poll, EVERY_MS);
})();
