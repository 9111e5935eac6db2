/* Ballot page: a live meter of the money, picks or points left, read out politely by screen readers;
   and a print button on the receipt page. Progressive enhancement only: without this script the
   page works the same (the meter stays hidden, the review step shows totals, and the server checks
   every rule). Nothing is stored in the browser: a shared computer keeps no trace of the choices. */
(function () {
  "use strict";

  function fill(template, values) {
    return (template || "").replace(/%\((\w+)\)s/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function moneyFormatter(currency) {
    var lang = document.documentElement.lang || "en";
    var formats = {};
    return function (cents) {
      var whole = cents % 100 === 0;
      var key = whole ? "whole" : "cents";
      if (!formats[key]) {
        try {
          formats[key] = new Intl.NumberFormat(lang, {
            style: "currency",
            currency: currency,
            minimumFractionDigits: whole ? 0 : 2,
            maximumFractionDigits: whole ? 0 : 2,
          });
        } catch (error) {
          formats[key] = { format: function (n) { return currency + " " + n.toFixed(whole ? 0 : 2); } };
        }
      }
      return formats[key].format(cents / 100);
    };
  }

  function toCents(value) {
    var number = parseFloat(value || "0");
    return isNaN(number) ? 0 : Math.round(number * 100);
  }

  function wholeNumber(value) {
    var number = parseInt(value, 10);
    return isNaN(number) ? null : number;
  }

  function setUpMeter(form) {
    var meter = form.querySelector("[data-ballot-meter]");
    if (!meter) return;
    var method = form.dataset.method;
    var money = moneyFormatter(form.dataset.currency || "USD");
    var maxPicks = wholeNumber(form.dataset.maxPicks);
    var pointsTotal = wholeNumber(form.dataset.pointsTotal);

    function picked() {
      return form.querySelectorAll('input[name="project"]:checked');
    }

    function countOrLeft(count) {
      if (maxPicks === null) return fill(meter.dataset.textCount, { count: count });
      if (count <= maxPicks) return fill(meter.dataset.textLeft, { left: maxPicks - count, max: maxPicks });
      return fill(meter.dataset.textOver, { over: count - maxPicks, max: maxPicks });
    }

    function text() {
      if (method === "knapsack") {
        var budget = toCents(form.dataset.budget);
        var spent = 0;
        picked().forEach(function (box) { spent += toCents(box.dataset.cost); });
        var left = budget - spent;
        meter.classList.toggle("over", left < 0);
        if (left >= 0) return fill(meter.dataset.textLeft, { left: money(left), budget: money(budget) });
        return fill(meter.dataset.textOver, { over: money(-left), budget: money(budget) });
      }
      if (method === "approval") {
        var count = picked().length;
        meter.classList.toggle("over", maxPicks !== null && count > maxPicks);
        return countOrLeft(count);
      }
      if (method === "ranked") {
        var ranked = 0;
        form.querySelectorAll('select[name^="rank-"]').forEach(function (select) {
          if (select.value !== "") ranked += 1;
        });
        meter.classList.toggle("over", maxPicks !== null && ranked > maxPicks);
        return countOrLeft(ranked);
      }
      if (method === "cumulative" && pointsTotal !== null) {
        var used = 0;
        form.querySelectorAll('input[name^="points-"]').forEach(function (input) {
          var points = wholeNumber(input.value);
          if (points !== null && points > 0) used += points;
        });
        var remaining = pointsTotal - used;
        meter.classList.toggle("over", remaining < 0);
        if (remaining >= 0) return fill(meter.dataset.textLeft, { left: remaining, total: pointsTotal });
        return fill(meter.dataset.textOver, { over: -remaining, total: pointsTotal });
      }
      return "";
    }

    function update() {
      var next = text();
      if (meter.textContent !== next) meter.textContent = next;
    }

    meter.hidden = false;
    update();
    form.addEventListener("change", update);
    form.addEventListener("input", update);
  }

  document.querySelectorAll("form[data-ballot]").forEach(function (form) {
    setUpMeter(form);
    // After a refused submission, start keyboard and screen-reader users at the list of mistakes.
    var summary = form.querySelector("#error-summary");
    if (summary) summary.focus();
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
