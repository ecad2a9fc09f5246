/* hokoku live updates: a region with data-live-url is fetched again every data-live-every seconds
   (from this app only, with the page's cookie) and replaced when it changed. Without JavaScript
   the page is complete as served; a reload shows the same. No library, no CDN. */
(function () {
  "use strict";
  function busy(region) {
    var a = document.activeElement;
    return a && region.contains(a) && /^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName);
  }
  function poll(region) {
    var url = region.getAttribute("data-live-url");
    var every = Math.max(2, parseInt(region.getAttribute("data-live-every") || "15", 10)) * 1000;
    var last = null;
    function tick() {
      if (document.hidden || busy(region)) { return setTimeout(tick, every); }
      fetch(url, {credentials: "same-origin", headers: {"X-Requested-With": "hokoku-live"}})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && html !== last) {
            if (last !== null || html !== region.innerHTML) { region.innerHTML = html; }
            last = html;
            region.setAttribute("data-live-updated", String(Date.now()));
          }
        })
        .catch(function () { /* the next tick tries again */ })
        .then(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  function confirmForms() {
    var forms = document.querySelectorAll("form[data-confirm]");
    Array.prototype.forEach.call(forms, function (f) {
      f.addEventListener("submit", function (e) {
        if (!window.confirm(f.getAttribute("data-confirm"))) { e.preventDefault(); }
      });
    });
  }
  function sizeGuard() {
    var forms = document.querySelectorAll("form[data-max-bytes]");
    Array.prototype.forEach.call(forms, function (f) {
      f.addEventListener("submit", function (e) {
        var limit = parseInt(f.getAttribute("data-max-bytes"), 10), total = 0;
        Array.prototype.forEach.call(f.querySelectorAll("textarea, input[type=text]"), function (el) {
          total += new Blob([el.value]).size;
        });
        if (total > limit) {
          e.preventDefault();
          var msg = f.getAttribute("data-too-large") || "Too large";
          var p = f.querySelector(".size-error");
          if (!p) { p = document.createElement("p"); p.className = "error size-error"; p.setAttribute("role", "alert"); f.insertBefore(p, f.firstChild); }
          p.textContent = msg;
        }
      });
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-live-url]"), poll);
    confirmForms();
    sizeGuard();
  });
})();
