/* A refused form (log in, sign up, …) starts keyboard and screen-reader users at its error summary:
   the list of mistakes, each a link to its field. Without this script the summary is still first
   in the form and announced as an alert. */
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (summary) summary.focus();
})();
