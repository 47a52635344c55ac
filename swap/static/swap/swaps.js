// Live progress on /swaps/: each waiting or running swap polls its API status (with the portal
// session) and moves its progress bar; once it has finished the page reloads to show the result.
(function () {
  "use strict";

  var INTERVAL_MS = 1000;
  var FINISHED = { done: true, failed: true, cancelled: true };

  function watch(card) {
    var bar = card.querySelector(".swap-progress");
    var line = card.querySelector(".swap-status");
    var url = card.getAttribute("data-job-url");

    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (job) {
          if (FINISHED[job.status]) {
            window.location.reload();
            return;
          }
          bar.value = job.progress;
          bar.textContent = job.progress + "%";
          var text = line.getAttribute("data-text-" + job.status);
          if (text) line.textContent = text;
          window.setTimeout(tick, INTERVAL_MS);
        })
        .catch(function () {
          window.setTimeout(tick, INTERVAL_MS * 5); // offline or signed out: try again later
        });
    }

    window.setTimeout(tick, INTERVAL_MS);
  }

  function start() {
    if (!window.fetch) return; // the page still shows the status; a reload updates it
    var cards = document.querySelectorAll(".swap[data-status=pending], .swap[data-status=running]");
    for (var i = 0; i < cards.length; i++) watch(cards[i]);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// The copy-link button next to a share link just made: the address to the clipboard.
(function () {
  "use strict";

  document.querySelectorAll("button.copy-link").forEach(function (button) {
    button.addEventListener("click", function () {
      var field = document.getElementById(button.getAttribute("data-copy"));
      if (!field) return;
      field.select();
      var done = function () { button.textContent = button.getAttribute("data-text-copied"); };
      if (navigator.clipboard && navigator.clipboard.writeText) {
        navigator.clipboard.writeText(field.value).then(done, function () {
          document.execCommand("copy");
          done();
        });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();
