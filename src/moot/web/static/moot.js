// Moot's only script. Every form works without it; with it, votes, saves, replies and edits happen in
// place: the same form is sent with fetch() and the server answers JSON instead of a redirect.
"use strict";

(function () {
  function send(form, submitter) {
    // Url-encoded, as before; multipart only when a file field of the form holds a file (an empty file field
    // is left out rather than sent as the text "[object File]").
    const data = new FormData(form);
    const text = new URLSearchParams();
    let withFile = false;
    data.forEach(function (value, name) {
      if (typeof value === "string") {
        text.append(name, value);
      } else if (value.size > 0) {
        withFile = true;
      }
    });
    const body = withFile ? data : text;
    if (submitter && submitter.name) {
      body.set(submitter.name, submitter.value);
    }
    // A button may post elsewhere (Preview posts to ?preview=1); its formAction is the page's URL when unset.
    const action = submitter && submitter.hasAttribute("formaction") ? submitter.formAction : form.action;
    return fetch(action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (response) {
      return response.json().then(function (data) {
        if (data.csrf_token) {
          // The form had expired: nothing was sent, the text stays in its box, and the next press works.
          document.querySelectorAll("input[name=csrf_token]").forEach(function (input) {
            input.value = data.csrf_token;
          });
        }
        if (!response.ok) {
          throw new Error(data.message || data.error || "That did not work.");
        }
        return data;
      });
    });
  }

  function complain(form, message) {
    let box = form.querySelector(".js-error");
    if (!box) {
      box = document.createElement("span");
      box.className = "js-error error";
      box.setAttribute("role", "alert");
      form.appendChild(box);
    }
    box.textContent = message;
  }

  function clearComplaint(form) {
    const box = form.querySelector(".js-error");
    if (box) {
      box.remove();
    }
  }

  function plural(count, one, many) {
    return count + " " + (count === 1 ? one : many || one + "s");
  }

  function onVote(form, data) {
    form.querySelector("[data-score]").textContent = data.score;
    // The comment's head says its points too: both show the same number after a vote.
    const comment = form.closest("li.comment");
    const points = comment && comment.querySelector(":scope > .comment-head [data-points]");
    if (points) {
      points.textContent = plural(data.score, "point");
    }
    const up = form.querySelector("button.up");
    const down = form.querySelector("button.down");
    up.value = data.up;
    up.setAttribute("aria-pressed", data.my_vote === 1 ? "true" : "false");
    if (down) {
      down.value = data.down;
      down.setAttribute("aria-pressed", data.my_vote === -1 ? "true" : "false");
    }
  }

  function onSave(form, data) {
    const button = form.querySelector("button");
    form.querySelector("input[name=save]").value = data.saved ? "0" : "1";
    button.textContent = data.saved ? "saved" : "save";
    button.setAttribute("aria-pressed", data.saved ? "true" : "false");
  }

  function childrenOf(commentId) {
    const item = document.getElementById("c" + commentId);
    if (!item) {
      return null;
    }
    const fold = item.querySelector(":scope > details");
    let list = fold.querySelector(":scope > ol.children");
    if (!list) {
      list = document.createElement("ol");
      list.className = "children";
      const more = fold.querySelector(":scope > p.more");
      fold.insertBefore(list, more);
    }
    return list;
  }

  function onReply(form, data) {
    const parent = form.querySelector("input[name=parent_id]");
    const list = parent ? childrenOf(parent.value) : document.querySelector("ol.tree");
    if (!list) {
      window.location.reload();
      return;
    }
    if (parent) {
      list.insertAdjacentHTML("beforeend", data.html);
    } else {
      list.insertAdjacentHTML("afterbegin", data.html);
    }
    form.querySelector("textarea").value = "";
    form.querySelector("textarea").dispatchEvent(new Event("input", { bubbles: true }));
    const shown = form.querySelector(".preview");
    if (shown) {
      shown.remove();
    }
    if (typeof data.comments === "number") {
      document.querySelectorAll("[data-comment-count]").forEach(function (count) {
        count.textContent = plural(data.comments, "comment");
      });
      const empty = document.querySelector(".comments > p.empty");
      if (empty) {
        empty.remove();
      }
    }
    enhance(document.getElementById("c" + data.id));
    const box = form.closest("details");
    if (box) {
      box.open = false;
    }
    const added = document.getElementById("c" + data.id);
    if (added) {
      const summary = added.querySelector("summary");
      if (summary) {
        summary.focus();
      }
    }
  }

  function onEdit(form, data) {
    const item = document.getElementById("c" + data.id);
    const body = item && item.querySelector(":scope > details > .comment-body");
    if (body) {
      body.innerHTML = data.html;
    }
    const head = item && item.querySelector(":scope > .comment-head");
    if (head && data.edited && !head.querySelector(".edited")) {
      // As a reload would show it: "(edited)" after the time, the time of the edit on hover.
      const mark = document.createElement("span");
      mark.className = "edited";
      mark.title = "edited " + data.edited;
      mark.textContent = "(edited)";
      const time = head.querySelector("time");
      if (time) {
        time.after(" ", mark);
      } else {
        head.append(" ", mark);
      }
    }
    const shown = form.querySelector(".preview");
    if (shown) {
      shown.remove();
    }
    const box = form.closest("details");
    if (box) {
      box.open = false;
    }
  }

  function onPreview(form, data) {
    let box = form.querySelector(".preview");
    if (!box) {
      box = document.createElement("section");
      box.className = "preview";
      box.setAttribute("aria-label", "Preview");
      const label = document.createElement("p");
      label.className = "preview-label";
      label.textContent = "Preview";
      const body = document.createElement("div");
      body.className = "md";
      box.append(label, body);
      form.insertBefore(box, form.querySelector("label"));
    }
    // Sanitised by the server's renderer, the same that renders posted text.
    box.querySelector(".md").innerHTML = data.preview || "<p>Nothing to preview yet.</p>";
  }

  const handlers = { vote: onVote, save: onSave, reply: onReply, edit: onEdit };

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset.confirm && !form.querySelector("input[name=confirm]")) {
      // Deleting asks first (without JavaScript the server asks on a page of its own).
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
        return;
      }
      const yes = document.createElement("input");
      yes.type = "hidden";
      yes.name = "confirm";
      yes.value = "1";
      form.appendChild(yes);
    }
    const previewing = event.submitter && event.submitter.name === "preview";
    const handler = previewing && form.dataset.js ? onPreview : handlers[form.dataset.js];
    if (!handler || !window.fetch) {
      return;
    }
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    send(form, event.submitter)
      .then(function (data) {
        clearComplaint(form);
        handler(form, data);
      })
      .catch(function (error) {
        complain(form, error.message);
      })
      .finally(function () {
        buttons.forEach(function (b) {
          b.disabled = false;
        });
      });
  });

  // The markdown toolbar: each button wraps the selection (or starts the syntax at the cursor).
  const TOOLS = [
    { text: "Bold", wrap: ["**", "**", "bold text"] },
    { text: "Italic", wrap: ["*", "*", "italic text"] },
    { text: "Link", link: true },
    { text: "Quote", lines: "> " },
    { text: "Code", code: true },
    { text: "Spoiler", wrap: ["\n::: spoiler Spoiler\n", "\n:::\n", "hidden text"] },
    { text: "List", lines: "- " },
    { text: "Image", image: true },
  ];

  // The Image button: a file picker, the upload to /pictrs/image (pict-rs's API, as Lemmy's apps use it) with the
  // login cookie and this page's CSRF token, then ![name](url) at the cursor.
  const IMAGE_REFUSALS = {
    invalid_image: "That file is not an image Moot takes (PNG, JPEG, GIF or WebP).",
    truncated: "That image file is cut short.",
    too_large: "That image file is too large.",
    too_many_pixels: "That image is too large (too many pixels).",
    too_many_frames: "That animation has too many frames.",
    rate_limit_error: "Too many uploads in a short time; wait a little and try again.",
    not_logged_in: "Log in to upload images.",
  };

  function uploadImage(area, file) {
    const form = area.form;
    const token = form ? form.querySelector("input[name=csrf_token]") : null;
    const data = new FormData();
    data.append("images[]", file);
    return fetch("/pictrs/image", {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRF-Token": token ? token.value : "" },
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (answer) {
        const files = answer.files || [];
        if (!response.ok || answer.msg !== "ok" || !files.length) {
          const reason = answer.msg || answer.error;
          throw new Error(IMAGE_REFUSALS[reason] || answer.message || "The image could not be uploaded.");
        }
        return window.location.origin + "/pictrs/image/" + files[0].file;
      });
    });
  }

  function imageButton(area, button, bar) {
    const picker = document.createElement("input");
    picker.type = "file";
    picker.accept = "image/png,image/jpeg,image/gif,image/webp";
    picker.hidden = true;
    picker.tabIndex = -1;
    picker.setAttribute("aria-hidden", "true");
    const status = document.createElement("span");
    status.className = "md-status";
    status.setAttribute("role", "status");
    let at = [0, 0];
    button.addEventListener("click", function () {
      at = [area.selectionStart, area.selectionEnd];
      picker.click();
    });
    picker.addEventListener("change", function () {
      const file = picker.files && picker.files[0];
      picker.value = "";
      if (!file) {
        return;
      }
      const form = area.form;
      if (form) {
        clearComplaint(form);
      }
      button.disabled = true;
      status.textContent = "Uploading " + file.name + "…";
      uploadImage(area, file)
        .then(function (url) {
          const alt = file.name.replace(/\.[^.]+$/, "").replace(/_/g, " ").replace(/[\[\]\\]/g, "").trim();
          let text = "![" + alt + "](" + url + ")";
          const start = Math.min(at[0], area.value.length);
          const end = Math.min(at[1], area.value.length);
          if (start > 0 && area.value[start - 1] !== "\n") {
            text = "\n\n" + text;
          }
          area.focus();
          area.setRangeText(text, start, end, "end");
          area.dispatchEvent(new Event("input", { bubbles: true }));
          status.textContent = "Image added.";
        })
        .catch(function (error) {
          status.textContent = "";
          if (form) {
            complain(form, error.message);
          }
        })
        .finally(function () {
          button.disabled = false;
        });
    });
    bar.append(picker, status);
  }

  function apply(area, tool) {
    const start = area.selectionStart;
    const end = area.selectionEnd;
    const chosen = area.value.slice(start, end);
    let text;
    let from;
    let to;
    if (tool.lines) {
      const body = chosen || "item";
      text = body.split("\n").map(function (line) { return tool.lines + line; }).join("\n");
      if (start > 0 && area.value[start - 1] !== "\n") {
        text = "\n" + text;
      }
      from = start + text.length - body.split("\n").pop().length;
      to = start + text.length;
    } else if (tool.link) {
      const words = chosen || "link text";
      text = "[" + words + "](https://)";
      from = start + words.length + 3;
      to = from + 8;
    } else {
      let wrap = tool.wrap;
      if (tool.code) {
        wrap = chosen.indexOf("\n") >= 0 ? ["\n```\n", "\n```\n", "code"] : ["`", "`", "code"];
      }
      const inner = chosen || wrap[2];
      text = wrap[0] + inner + wrap[1];
      from = start + wrap[0].length;
      to = from + inner.length;
    }
    area.focus();
    area.setRangeText(text, start, end, "end");
    area.setSelectionRange(from, to);
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function addToolbar(area) {
    if (area.dataset.toolbar) {
      return;
    }
    area.dataset.toolbar = "1";
    const bar = document.createElement("div");
    bar.className = "md-toolbar";
    bar.setAttribute("role", "toolbar");
    bar.setAttribute("aria-label", "Formatting");
    bar.setAttribute("aria-controls", area.id);
    TOOLS.forEach(function (tool) {
      const button = document.createElement("button");
      button.type = "button";
      // Named by its text only (no aria-label), so it never shadows a field's label such as "Link".
      button.textContent = tool.text;
      button.className = "md-" + tool.text.toLowerCase();
      bar.appendChild(button);
      if (tool.image) {
        imageButton(area, button, bar);
        return;
      }
      button.addEventListener("click", function () {
        apply(area, tool);
      });
    });
    area.before(bar);
    // The toolbar's Image button takes the place of the box's no-script file field.
    const field = area.form && area.form.querySelector("[data-image-field]");
    if (field) {
      field.hidden = true;
    }
  }

  // The limit's hint counts as you type: "1,234 / 10,000 characters", in red past the limit (nothing is cut).
  function count(field) {
    const hint = document.querySelector("[data-limit-for='" + field.id + "']");
    const limit = Number(field.dataset.limit);
    if (!hint || !limit) {
      return;
    }
    const length = field.value.length; // UTF-16 units, as the server and Lemmy count them
    hint.textContent = length.toLocaleString("en") + " / " + limit.toLocaleString("en") + " characters";
    hint.classList.toggle("over", length > limit);
  }

  function enhance(root) {
    if (!root) {
      return;
    }
    root.querySelectorAll("textarea[data-md]").forEach(addToolbar);
    root.querySelectorAll("[data-limit]").forEach(function (field) {
      if (field.value) {
        count(field);
      }
    });
  }

  document.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.limit) {
      count(event.target);
    }
  });

  // j and k move between top-level comments (never while typing in a field).
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) {
      return;
    }
    if (event.key !== "j" && event.key !== "k") {
      return;
    }
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable]")) {
      return;
    }
    const items = Array.prototype.slice.call(document.querySelectorAll("ol.tree > li.comment"));
    if (!items.length) {
      return;
    }
    const active = document.activeElement;
    const current = active && active.closest ? active.closest("ol.tree > li.comment") : null;
    let index = items.indexOf(current);
    if (index === -1) {
      const below = items.findIndex(function (li) { return li.getBoundingClientRect().top > 1; });
      index = event.key === "j" ? (below === -1 ? items.length - 1 : below) : Math.max((below === -1 ? items.length : below) - 1, 0);
    } else {
      index = Math.min(Math.max(index + (event.key === "j" ? 1 : -1), 0), items.length - 1);
    }
    const item = items[index];
    event.preventDefault();
    item.tabIndex = -1;
    item.focus({ preventScroll: true });
    item.scrollIntoView({ block: "start", behavior: "instant" });
  });

  enhance(document);
  document.querySelectorAll(".keys-hint").forEach(function (hint) {
    hint.hidden = false;
  });

  // Opening a reply or edit box puts the cursor in its text area.
  document.addEventListener("toggle", function (event) {
    const box = event.target;
    if (box.open && (box.classList.contains("reply-box") || box.classList.contains("edit-box"))) {
      const area = box.querySelector("textarea");
      if (area) {
        area.focus();
      }
    }
  }, true);
})();

// The composer: once a link is entered, say where it is already being discussed (GET /link_discussions), with
// the same list and offers the "Check link" button shows without a script. Built with DOM calls, no HTML strings.
(function () {
  "use strict";
  var input = document.getElementById("post-url");
  var box = document.getElementById("link-discussions");
  if (!input || !box) return;
  var asked = "";

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function show(list) {
    box.replaceChildren();
    if (!list.length) { box.hidden = true; return; }
    var intro = document.createElement("p");
    intro.textContent = "This link is already being discussed:";
    var ul = document.createElement("ul");
    list.forEach(function (d) {
      var li = document.createElement("li");
      li.append(link("/post/" + d.post_id, d.community), " (" + d.comments + (d.comments === 1 ? " comment" : " comments") + ") · ",
        link("/post/" + d.post_id + "?discussion=all#comments", "join that discussion"), " · ",
        link("/create_post?crosspost=" + d.post_id, "cross-post with a link back"));
      ul.append(li);
    });
    box.append(intro, ul);
    box.hidden = false;
  }

  function check() {
    var url = input.value.trim();
    if (url === asked) return;
    asked = url;
    if (!url) { show([]); return; }
    fetch("/link_discussions?url=" + encodeURIComponent(url), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : { discussions: [] }; })
      .then(function (data) { if (asked === url) show(data.discussions || []); })
      .catch(function () {});
  }

  input.addEventListener("change", check);
  input.addEventListener("blur", check);
})();
