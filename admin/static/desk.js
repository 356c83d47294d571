/* SVP admin: confirmations, draft helpers, live counter and preview, live queue, shortcuts.
   No inline script anywhere: every behaviour hangs on ids and data- attributes. */
(function () {
  "use strict";

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  /* Confirmation before irreversible actions: <form data-confirm="..."> */
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    if (!form.dataset || !form.dataset.confirm) return;
    if (submitter && submitter.hasAttribute("data-no-confirm")) return;
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  function ticketPage() {
    var form = document.getElementById("approve-form");
    var answer = document.getElementById("answer");
    if (!form || !answer) return;
    var references = document.getElementById("references");
    var source = document.getElementById("source_entry_id");
    var entrySelect = document.getElementById("entry_id");
    var counter = document.getElementById("answer-counter");
    var preview = document.getElementById("answer-preview");
    var sourceNote = document.getElementById("source-note");
    var entryBox = document.getElementById("entry-text-box");
    var entryPreview = document.getElementById("entry-preview");
    var max = parseInt(form.dataset.max || "20000", 10);
    /* A page shown again after a refusal keeps the choice the adviser had made. */
    var manualPublication = form.dataset.publicationChosen === "1";
    /* A cited draft comes with no publication chosen: typing does not choose one either. */
    var publicationOpen = form.dataset.publicationOpen === "1";
    var timer = null;

    function sourceText() {
      var node = source && source.value ? document.getElementById("hit-answer-" + source.value) : null;
      return node ? node.textContent : null;
    }
    function choose(value) {
      var radio = document.getElementById("pub-" + value);
      if (radio) radio.checked = true;
    }
    function autoPublication() {
      if (manualPublication || publicationOpen) return;
      var original = sourceText();
      if (original === null) { choose("new"); return; }
      choose(answer.value.trim() === original.trim() ? "none" : "update");
    }
    function localCount() {
      var chars = answer.value.trim().length;
      counter.textContent = chars + " caractère(s) sur " + max + " · calcul des messages…";
      counter.classList.toggle("over", chars > max);
    }
    var asked = 0;
    function refreshPreview() {
      var mine = ++asked;
      var body = new URLSearchParams();
      body.set("answer", answer.value);
      body.set("references", references ? references.value : "");
      body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
      fetch(form.dataset.previewUrl, {method: "POST", body: body, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data || mine !== asked) return;  /* a later draft's answer wins */
          counter.textContent = data.chars + " caractère(s) sur " + data.max + " · " +
            data.parts.length + " message(s) Telegram";
          counter.classList.toggle("over", data.chars > data.max);
          preview.textContent = "";
          data.parts.forEach(function (part) {
            var div = document.createElement("div");
            div.className = "tg-part";
            div.innerHTML = part;  /* escaped server-side: only b, i, a tags */
            preview.appendChild(div);
          });
          if (!data.parts.length) {  /* an emptied draft: say so, never the old text */
            var empty = document.createElement("p");
            empty.className = "hint";
            empty.textContent = "Le brouillon est vide.";
            preview.appendChild(empty);
          }
          if (entryBox && entryPreview) {
            entryBox.hidden = !data.entry_changed;
            entryPreview.innerHTML = data.entry_html || "";  /* escaped server-side: strong, a */
          }
        })
        .catch(function () { /* the counter keeps the local count */ });
    }
    function changed(event) {
      localCount();
      /* Text rewritten by a script (placeholders of personal data) keeps the adviser's
         publication choice; typing and taking a suggestion pre-select one. */
      if (!event || event.isTrusted) autoPublication();
      clearTimeout(timer);
      timer = setTimeout(refreshPreview, 400);
    }
    answer.addEventListener("input", changed);
    if (references) references.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(refreshPreview, 400);
    });
    form.querySelectorAll("input[name=publication]").forEach(function (radio) {
      radio.addEventListener("change", function () { manualPublication = true; });
    });

    /* "Reprendre cette réponse" / "Ajouter à la suite": into the draft, no reload. */
    document.querySelectorAll("button.take").forEach(function (button) {
      button.hidden = false;
      button.addEventListener("click", function (event) {
        event.preventDefault();
        var id = button.dataset.entry;
        var text = document.getElementById("hit-answer-" + id).textContent;
        if (button.dataset.take === "append" && answer.value.trim()) {
          answer.value = answer.value.replace(/\s+$/, "") + "\n\n" + text;
        } else {
          answer.value = text;
        }
        source.value = id;
        if (entrySelect) entrySelect.value = id;
        if (sourceNote) sourceNote.textContent = " (réponse de la fiche n° " + id +
          " : envoyée telle quelle, la question sera liée à cette fiche)";
        manualPublication = false;
        publicationOpen = false;
        changed();
        answer.focus();
      });
    });

    /* The cited draft: passages kept and their order, composed into the answer. */
    var citeForm = document.getElementById("cite-form");
    var citeList = document.getElementById("citations");
    if (citeForm && citeList) {
      var compose = function () {
        var blocks = [];
        citeList.querySelectorAll("li.citation").forEach(function (item) {
          var box = item.querySelector("input[name=cite]");
          if (box && box.checked) blocks.push(item.querySelector("template").content.textContent);
        });
        return blocks.join("\n\n");
      };
      var composed = compose();
      var synced = answer.value.trim() === composed.trim();
      var apply = function () {
        composed = compose();
        answer.value = composed;
        synced = true;
        source.value = "";
        if (sourceNote) sourceNote.textContent = "";
        changed();
      };
      /* While the answer is the composition, it follows the adviser's choices at once. */
      var follow = function () { if (synced && answer.value.trim() === composed.trim()) apply(); };
      citeList.querySelectorAll("button.cite-move").forEach(function (button) {
        button.hidden = false;
        button.addEventListener("click", function () {
          var item = button.closest("li.citation");
          if (button.dataset.move === "up" && item.previousElementSibling) {
            citeList.insertBefore(item, item.previousElementSibling);
          } else if (button.dataset.move === "down" && item.nextElementSibling) {
            citeList.insertBefore(item.nextElementSibling, item);
          }
          button.focus();
          follow();
        });
      });
      citeList.querySelectorAll("input[name=cite]").forEach(function (box) {
        box.addEventListener("change", follow);
      });
      citeForm.addEventListener("submit", function (event) {
        event.preventDefault();
        var edited = answer.value.trim() && answer.value.trim() !== composed.trim();
        if (edited && !window.confirm("Remplacer la réponse modifiée par les passages cités ?")) return;
        apply();
        answer.focus();
      });
    }

    /* Reply templates: inserted where the cursor is. */
    var picker = document.querySelector(".template-picker");
    var choice = document.getElementById("template-choice");
    if (picker && choice) {
      picker.hidden = false;
      choice.addEventListener("change", function () {
        var template = document.getElementById("template-" + choice.value);
        if (!template) return;
        var text = template.content.textContent;
        var start = answer.selectionStart, end = answer.selectionEnd;
        var before = answer.value.slice(0, start), after = answer.value.slice(end);
        var glue = before && !/\n$/.test(before) ? "\n\n" : "";
        answer.value = before + glue + text + (after && !/^\n/.test(after) ? "\n\n" : "") + after;
        choice.value = "";
        changed();
        answer.focus();
      });
    }

    document.addEventListener("keydown", function (event) {
      if ((event.ctrlKey || event.metaKey) && event.key === "Enter" && form.contains(event.target)) {
        event.preventDefault();
        form.requestSubmit(document.getElementById("approve-button"));
        return;
      }
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "r") { event.preventDefault(); answer.focus(); }
    });
  }

  /* Personal data (issue 16): the findings of the server's scan, listed with their context,
     each replaceable by its placeholder in one click. The server scans again on submit. */
  function privacyBox() {
    var box = document.getElementById("privacy-box");
    if (!box) return;
    var list = document.getElementById("privacy-findings");
    var all = document.getElementById("privacy-replace-all");
    var note = document.getElementById("privacy-none-note");
    var form = box.closest("form");
    var token = form ? form.querySelector("input[name=csrf_token]") : null;
    var fields = (box.dataset.fields || "").split(" ").map(function (id) {
      return document.getElementById(id);
    }).filter(Boolean);
    var timer = null;

    function show(count) {
      box.hidden = count === 0;
      if (note) note.hidden = count === 0;
    }
    function replaceIn(item) {
      var area = document.getElementById(item.dataset.field);
      if (!area) return false;
      var text = item.dataset.text;
      var start = parseInt(item.dataset.start, 10);
      /* Offsets are the server's; if the text moved since, take its first occurrence. */
      var at = area.value.substr(start, text.length) === text ? start : area.value.indexOf(text);
      if (at < 0) return false;
      area.value = area.value.slice(0, at) + item.dataset.placeholder +
        area.value.slice(at + text.length);
      return true;
    }
    function touched() {
      fields.forEach(function (area) {
        area.dispatchEvent(new Event("input", {bubbles: true}));
      });
      clearTimeout(timer);
      scan();
    }
    function wire(item) {
      var button = item.querySelector("button.privacy-replace");
      if (!button) return;
      button.hidden = false;
      button.addEventListener("click", function () {
        if (replaceIn(item)) item.remove();
        touched();
      });
    }
    function render(findings) {
      list.textContent = "";
      findings.forEach(function (f) {
        var item = document.createElement("li");
        item.className = "privacy-finding";
        item.dataset.field = f.field;
        item.dataset.start = f.start;
        item.dataset.end = f.end;
        item.dataset.text = f.text;
        item.dataset.placeholder = f.placeholder;
        var kind = document.createElement("span");
        kind.className = "privacy-kind";
        kind.textContent = f.label;
        var context = document.createElement("span");
        context.className = "privacy-context";
        var mark = document.createElement("mark");
        mark.textContent = f.text;
        context.append(f.before, mark, f.after);
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary privacy-replace";
        button.textContent = "Remplacer par " + f.placeholder;
        item.append(kind, " (" + f.field_label + ") : ", context, " ", button);
        list.appendChild(item);
        wire(item);
      });
      show(findings.length);
    }
    function scan() {
      var body = new URLSearchParams();
      fields.forEach(function (area) { body.set(area.name, area.value); });
      if (token) body.set("csrf_token", token.value);
      fetch(box.dataset.scanUrl, {method: "POST", body: body, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) { if (data) render(data.findings); })
        .catch(function () { /* the list shown stays; the server checks again on submit */ });
    }
    list.querySelectorAll("li.privacy-finding").forEach(wire);
    if (all) {
      all.hidden = false;
      all.addEventListener("click", function () {
        /* Last first: a replacement must not shift the offsets of the ones before it. */
        var items = Array.prototype.slice.call(list.querySelectorAll("li.privacy-finding"));
        items.sort(function (a, b) {
          return parseInt(b.dataset.start, 10) - parseInt(a.dataset.start, 10);
        });
        items.forEach(replaceIn);
        touched();
      });
    }
    fields.forEach(function (area) {
      area.addEventListener("input", function (event) {
        if (!event.isTrusted) return;  /* our own replacements rescan at once */
        clearTimeout(timer);
        timer = setTimeout(scan, 600);
      });
    });
  }

  function ticketNavigation() {
    if (!document.querySelector(".ticket-nav")) return;
    document.addEventListener("keydown", function (event) {
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      var link = null;
      if (event.key === "j") link = document.getElementById("next-ticket");
      if (event.key === "k") link = document.getElementById("previous-ticket");
      if (link) { event.preventDefault(); window.location.href = link.href; }
    });
  }

  function queuePage() {
    var results = document.getElementById("queue-results");
    if (!results) return;
    var filters = document.getElementById("queue-filters");
    if (filters && window.matchMedia("(max-width: 700px)").matches) filters.open = false;
    var live = document.getElementById("queue-live");
    var latest = parseInt(results.dataset.latest || "0", 10);
    var current = -1;

    function links() { return Array.prototype.slice.call(results.querySelectorAll("a.ticket-link")); }
    document.addEventListener("keydown", function (event) {
      if (typing(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "/") {
        event.preventDefault();
        document.getElementById("f-q").focus();
        return;
      }
      if (event.key !== "j" && event.key !== "k") return;
      var all = links();
      if (!all.length) return;
      current = all.indexOf(document.activeElement);
      current = event.key === "j" ? Math.min(current + 1, all.length - 1) : Math.max(current - 1, 0);
      event.preventDefault();
      all[current].focus();
    });

    function poll() {
      fetch(results.dataset.updatesUrl + "?since=" + latest, {credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) return;
          var count = document.getElementById("my-count");
          if (count) count.textContent = data.mine;
          if (data.latest <= latest) return;
          var arrived = data.new;
          latest = data.latest;
          return fetch(window.location.href, {credentials: "same-origin"})
            .then(function (r) { return r.ok ? r.text() : null; })
            .then(function (html) {
              if (!html) return;
              var fresh = new DOMParser().parseFromString(html, "text/html")
                .getElementById("queue-results");
              if (!fresh) return;
              results.innerHTML = fresh.innerHTML;
              if (arrived > 0) {
                live.textContent = arrived + " nouvelle(s) question(s) arrivée(s) : la liste est à jour.";
                live.hidden = false;
              }
            });
        })
        .catch(function () { /* try again at the next tick */ });
    }
    var interval = parseInt(results.dataset.refreshSeconds || "15", 10) * 1000;
    window.setInterval(poll, interval);
  }

  /* The phone menu scrolls sideways: a fade on the side that has more links (issue 26). */
  function menuEdges() {
    var wrap = document.getElementById("nav-wrap");
    var nav = document.getElementById("main-nav");
    if (!wrap || !nav) return;
    function update() {
      var rest = nav.scrollWidth - nav.clientWidth - nav.scrollLeft;
      wrap.classList.toggle("more-left", nav.scrollLeft > 2);
      wrap.classList.toggle("more-right", rest > 2);
    }
    nav.addEventListener("scroll", update, {passive: true});
    window.addEventListener("resize", update);
    update();
  }

  function ready() {
    menuEdges();
    ticketPage();
    privacyBox();
    ticketNavigation();
    queuePage();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
