// The dashboard's one script. Every page works without it; it adds what a shift
// needs on top: lists that refresh themselves, copy buttons, page-size menus that
// apply at once, the browser's time zone for people who set none, the narrow
// screen's menu button and keyboard shortcuts.
(function () {
  "use strict";
  if (window.fleetward) return; // hx-boost may run a page's scripts again
  var fleetward = (window.fleetward = {});
  // CSS shows the menu and shortcut buttons only where this script runs.
  document.documentElement.classList.add("js");

  // --- The browser's time zone, for times shown on the server's pages -----------
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var current = (document.cookie.match(/(?:^|; )fw_tz=([^;]*)/) || [])[1];
    if (zone && decodeURIComponent(current || "") !== zone) {
      document.cookie = "fw_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
    }
  } catch (e) { /* no Intl: times stay in UTC */ }

  // --- Copy buttons: <button data-copy="input-id"> copies that input's value ---
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-copy"));
    if (!input) return;
    var label = button.textContent;
    var done = function () {
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    input.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        if (document.execCommand("copy")) done();
      });
    } else if (document.execCommand("copy")) {
      done();
    }
  });

  // --- <select data-autosubmit> sends its form when changed --------------------
  // A watch rule's log name shows which levels that log's events use
  // (data-level-hints: log name folded -> hint; "" for any other Windows log).
  document.addEventListener("input", function (event) {
    var input = event.target.closest && event.target.closest("[data-level-hints]");
    if (!input) return;
    var target = document.getElementById(input.getAttribute("data-hint-target"));
    if (!target) return;
    var hints = JSON.parse(input.getAttribute("data-level-hints"));
    var name = input.value.trim().toLowerCase();
    var unit = /\.(service|socket|scope|timer|mount|automount|slice|target|path|device|swap)$/;
    if (!name) target.textContent = "";
    else if (unit.test(name)) target.textContent = hints.journal;
    else target.textContent = hints[name] || hints[""];
  });
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) select.form.requestSubmit();
  });

  // --- Live regions: <div id="..." data-live="15"> refreshes itself ------------
  // Every N seconds the page's own URL (filters, sort and page included) is fetched
  // again and the region replaced by the new copy of itself. Checked boxes are
  // carried over, and a region is left alone while the reader types in it, has a
  // menu open, or the tab is hidden. "updated N s ago" says how fresh it is.
  var updatedAt = {};

  function selection(region) {
    var checked = [];
    region.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      checked.push(box.name + "\u0000" + box.value);
    });
    return checked;
  }

  function busy(region) {
    var active = document.activeElement;
    if (active && region.contains(active) && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName) &&
        active.type !== "checkbox") return true;
    return region.querySelector("details[open]") !== null;
  }

  function refresh(region) {
    var id = region.id;
    if (document.hidden || busy(region)) return;
    fetch(window.location.href, { credentials: "same-origin", headers: { "X-Fleetward-Live": "1" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("stale");
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(id);
        var current = document.getElementById(id);
        if (!fresh || !current || busy(current)) return;
        var checked = selection(current);
        current.replaceWith(fresh);
        fresh.querySelectorAll("input[type=checkbox]").forEach(function (box) {
          box.checked = checked.indexOf(box.name + "\u0000" + box.value) !== -1;
        });
        if (window.htmx) window.htmx.process(fresh);
        updatedAt[id] = Date.now();
        fresh.dispatchEvent(new CustomEvent("fleetward:refreshed", { bubbles: true }));
        tick();
      })
      .catch(function () {
        var status = document.querySelector("[data-live-updated]");
        if (status) status.setAttribute("data-live-stale", "true");
      });
  }

  function tick() {
    document.querySelectorAll("[data-live-updated]").forEach(function (label) {
      var region = label.closest("[data-live]") || document.querySelector("[data-live]");
      if (!region) return;
      var since = Math.round((Date.now() - (updatedAt[region.id] || Date.now())) / 1000);
      var text = since < 2 ? "updated just now" : "updated " + (since < 120 ? since + " s" : Math.round(since / 60) + " min") + " ago";
      if (label.getAttribute("data-live-stale")) text += " (refresh failed; reload the page)";
      label.textContent = text;
    });
  }

  var timers = {};
  function start() {
    document.querySelectorAll("[data-live]").forEach(function (region) {
      if (!region.id || timers[region.id]) return;
      var seconds = Math.max(5, parseInt(region.getAttribute("data-live"), 10) || 15);
      updatedAt[region.id] = Date.now();
      timers[region.id] = setInterval(function () {
        var current = document.getElementById(region.id);
        if (current) refresh(current);
        else { clearInterval(timers[region.id]); delete timers[region.id]; }
      }, seconds * 1000);
    });
  }
  fleetward.refreshNow = function () {
    document.querySelectorAll("[data-live]").forEach(refresh);
  };
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("htmx:afterSettle", start); // a boosted navigation
  if (document.readyState !== "loading") start();

  // --- The menu button: on a narrow screen the navigation folds behind it -------
  function menuButton() { return document.querySelector("[data-menu-button]"); }
  function setMenu(open) {
    var button = menuButton();
    if (!button) return;
    button.setAttribute("aria-expanded", open ? "true" : "false");
    var nav = document.getElementById(button.getAttribute("aria-controls"));
    if (nav) nav.classList.toggle("open", open);
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-menu-button]");
    if (button) setMenu(button.getAttribute("aria-expanded") !== "true");
  });
  document.addEventListener("htmx:afterSettle", function () { setMenu(false); });

  // --- Keyboard shortcuts (listed in the dialog #keyboard-shortcuts) -----------
  // "/" search, "?" this list, "g" then "o", "a" or "t" to go somewhere, Escape
  // closes. None fires while the reader types in a field or holds a modifier.
  var GO = { o: "/", a: "/alerts", t: "/tickets" };
  var pendingG = 0;

  function typing(target) {
    if (!target || !target.tagName) return false;
    if (target.isContentEditable) return true;
    if (/^(TEXTAREA|SELECT)$/.test(target.tagName)) return true;
    if (target.tagName !== "INPUT") return false;
    return !/^(checkbox|radio|button|submit|reset|file|range|color|image)$/i.test(target.type);
  }

  function shortcuts() { return document.getElementById("keyboard-shortcuts"); }
  function openShortcuts() {
    var dialog = shortcuts();
    if (dialog && !dialog.open) dialog.showModal();
  }
  fleetward.openShortcuts = openShortcuts;

  document.addEventListener("click", function (event) {
    if (event.target.closest("[data-shortcuts-open]")) openShortcuts();
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "Escape") {
      var button = menuButton();
      if (button && button.getAttribute("aria-expanded") === "true") {
        setMenu(false);
        button.focus();
      }
      return; // an open dialog closes itself on Escape
    }
    if (typing(event.target)) return;
    var dialog = shortcuts();
    if (dialog && dialog.open && event.key !== "?") return;
    if (pendingG && Date.now() - pendingG < 1500 && GO[event.key]) {
      pendingG = 0;
      event.preventDefault();
      window.location.assign(GO[event.key]);
      return;
    }
    pendingG = 0;
    if (event.key === "g") {
      pendingG = Date.now();
    } else if (event.key === "?") {
      event.preventDefault();
      if (dialog && dialog.open) dialog.close(); else openShortcuts();
    } else if (event.key === "/") {
      var search = document.getElementById("global-search");
      if (search) {
        event.preventDefault();
        search.focus();
        if (search.select) search.select();
      }
    }
  });
})();
