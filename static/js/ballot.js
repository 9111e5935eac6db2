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

  // Amounts are written exactly as the server writes them (core/money.py): the page gives the
  // active language's symbols and grouping in data-money, so the meter never disagrees with the
  // amounts printed beside it (the browser's own Intl data differs, e.g. "50.000 US$" in Spanish).
  function groupDigits(digits, symbol, grouping) {
    var primary = grouping[0] || 3;
    var secondary = grouping[1] || primary;
    if (digits.length <= primary) return digits;
    var parts = [digits.slice(-primary)];
    var rest = digits.slice(0, -primary);
    while (rest.length > secondary) {
      parts.unshift(rest.slice(-secondary));
      rest = rest.slice(0, -secondary);
    }
    parts.unshift(rest);
    return parts.join(symbol);
  }

  function moneyFormatter(spec) {
    var digits = typeof spec.digits === "number" ? spec.digits : 2;
    return function (cents) {
      var negative = cents < 0;
      var amount = Math.abs(cents);
      var whole = Math.floor(amount / 100);
      var fraction = amount % 100;
      var number = groupDigits(String(whole), spec.group, spec.grouping || [3, 3]);
      if (fraction !== 0 && digits > 0) {
        var decimals = String(fraction);
        while (decimals.length < 2) decimals = "0" + decimals;
        while (decimals.length < digits) decimals += "0";
        number += spec.decimal + decimals.slice(0, digits);
      }
      if (negative) return spec.negativePrefix + number + spec.negativeSuffix;
      return spec.prefix + number + spec.suffix;
    };
  }

  function moneySpec(form) {
    try {
      return JSON.parse(form.dataset.money);
    } catch (error) {
      var code = form.dataset.currency || "";
      return { prefix: code + " ", suffix: "", negativePrefix: "-" + code + " ", negativeSuffix: "",
               group: ",", decimal: ".", grouping: [3, 3], digits: 2 };
    }
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
    var money = moneyFormatter(moneySpec(form));
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
