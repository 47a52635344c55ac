// Pages that show work under way (a report being made, an account being erased): instead of a
// timed refresh, which moves focus and the reading position back to the top every time, the
// page is fetched again in the background. While the work goes on, its progress bar and status
// line ([data-refresh-part]) are updated in place, where the live region announces them; once
// the work has ended ([data-refresh] changed or gone) the page is reloaded to show the outcome.
(function () {
  "use strict";

  var INTERVAL_MS = 2000;
  var region = document.querySelector("[data-refresh]");
  if (!region || !window.fetch || !window.DOMParser) return;

  function update(fresh) {
    var parts = region.querySelectorAll("[data-refresh-part]");
    for (var i = 0; i < parts.length; i++) {
      var name = parts[i].getAttribute("data-refresh-part");
      var twin = fresh.querySelector('[data-refresh-part="' + name + '"]');
      if (!twin) continue;
      if (twin.hasAttribute("value")) parts[i].setAttribute("value", twin.getAttribute("value"));
      if (parts[i].textContent !== twin.textContent) parts[i].textContent = twin.textContent;
    }
  }

  function tick() {
    fetch(window.location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.text();
      })
      .then(function (html) {
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = page.querySelector("[data-refresh]");
        if (!fresh || fresh.getAttribute("data-refresh") !== region.getAttribute("data-refresh")) {
          window.location.reload();
          return;
        }
        update(fresh);
        window.setTimeout(tick, INTERVAL_MS);
      })
      .catch(function () {
        window.setTimeout(tick, INTERVAL_MS * 5); // offline: try again later
      });
  }

  window.setTimeout(tick, INTERVAL_MS);
})();
