/* Ballot design (officials): show only the fields of the ballot method chosen in each district's
   form. Progressive enhancement: without this script every field stays visible and usable (each
   says which method it is for), and the server ignores what a method does not use. A field the
   server sent back with an error is never hidden. A ranked ballot is counted by greedy only: the
   other rules are disabled while it is chosen (the server refuses them too). */
(function () {
  "use strict";

  function update(form, select) {
    var method = select.value;
    form.querySelectorAll("[data-methods]").forEach(function (wrapper) {
      var methods = wrapper.getAttribute("data-methods").split(" ");
      var show = methods.indexOf(method) !== -1 || wrapper.hasAttribute("data-has-errors");
      wrapper.hidden = !show;
    });
    // Equal shares is not defined for rankings: only greedy can count a ranked ballot.
    var ranked = method === "ranked";
    form.querySelectorAll('input[type="radio"][name$="allocation_rule"]').forEach(function (radio) {
      if (radio.value === "greedy") {
        if (ranked) {
          radio.checked = true;
        }
      } else {
        radio.disabled = ranked;
      }
    });
  }

  function init() {
    document.querySelectorAll("form[data-ballot-design]").forEach(function (form) {
      var select = form.querySelector("select[data-method-switch]");
      if (!select) {
        return;
      }
      select.addEventListener("change", function () {
        update(form, select);
      });
      update(form, select);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
