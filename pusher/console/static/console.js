/* A little progressive enhancement; every page works without it. */
(function () {
  "use strict";
  function csrf() {
    var f = document.querySelector("input[name=csrf]");
    return f ? f.value : "";
  }
  // Item page: poll the push progress every few seconds until it has settled.
  var box = document.getElementById("progress");
  if (box) {
    var poll = function () {
      fetch(box.dataset.url, { headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (p) {
          document.getElementById("bar").style.width = p.percent + "%";
          document.getElementById("done").textContent = p.done;
          document.getElementById("total").textContent = p.total;
          document.getElementById("percent").textContent = p.percent;
          var counts = document.getElementById("counts");
          counts.textContent = "";
          Object.keys(p.counts).forEach(function (k) {
            var d = document.createElement("div");
            d.textContent = k;
            var b = document.createElement("b");
            b.textContent = p.counts[k];
            d.appendChild(b);
            counts.appendChild(d);
          });
          var held = document.getElementById("held");
          held.textContent = p.held || "";
          held.hidden = !p.held;
          if (!box.dataset.push && p.settled) {
            window.location.reload(); // the push is out: show its groups and texts
          } else if (!p.settled) {
            setTimeout(poll, p.held ? 60000 : 3000); // held till morning: nothing moves soon
          }
        })
        .catch(function () { setTimeout(poll, 6000); });
    };
    setTimeout(poll, 1500);
  }
  // Rule editor: validate as the user types.
  document.querySelectorAll("textarea[data-validate]").forEach(function (area) {
    var out = document.getElementById(area.dataset.validate);
    var timer = null;
    area.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch("/rules/validate?text=" + encodeURIComponent(area.value), { headers: { Accept: "application/json" } })
          .then(function (r) { return r.json(); })
          .then(function (v) {
            out.textContent = v.ok ? "✓ 规则格式正确" : "✗ " + v.message;
            out.className = "rule-status " + (v.ok ? "ok" : "alert");
          });
      }, 300);
    });
  });
  // Resident import: show upload progress for large files.
  var upload = document.getElementById("import-form");
  if (upload && window.XMLHttpRequest) {
    upload.addEventListener("submit", function (e) {
      e.preventDefault();
      var bar = document.getElementById("import-bar");
      var note = document.getElementById("import-note");
      bar.closest("[hidden]").hidden = false; // the box around bar and note
      var xhr = new XMLHttpRequest();
      xhr.open("POST", upload.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf());
      xhr.upload.onprogress = function (ev) {
        if (ev.lengthComputable) { bar.style.width = Math.round(100 * ev.loaded / ev.total) + "%"; }
      };
      xhr.upload.onload = function () { note.textContent = "上传完成，正在逐行检查…"; };
      xhr.onload = function () { document.open(); document.write(xhr.responseText); document.close(); };
      xhr.send(new FormData(upload));
    });
  }
  // 转发清单: copy the ready text (the textarea stays selectable without this).
  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var area = document.getElementById(button.dataset.copy);
      var done = function () { button.textContent = "已复制"; };
      area.focus();
      area.select();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(area.value).then(done, function () {
          if (document.execCommand("copy")) { done(); }
        });
      } else if (document.execCommand("copy")) {
        done();
      }
    });
  });
  // Error page: "back" without a javascript: URL (the CSP allows no inline script).
  document.querySelectorAll("[data-back]").forEach(function (link) {
    link.addEventListener("click", function (ev) {
      if (history.length > 1) { ev.preventDefault(); history.back(); }
    });
  });
})();
