"""The review page: inline CSS and JS, the rows as JSON in the page; {{TITLE}} and {{DATA}} filled.

Cards are built from the data in pages of 60 as the reader scrolls (an IntersectionObserver
on a sentinel), so 10,000 rows open at once; one click listener on the grid plays videos.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}} - heyrender report</title>
<style>
:root { color-scheme: light dark; --line: #8884; --muted: #777; --accent: #4a6cf7; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, sans-serif; }
header { position: sticky; top: 0; z-index: 1; padding: 12px 20px; background: Canvas;
  border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 20px; }
#meta { margin: 2px 0 8px; color: var(--muted); }
.controls { display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
select, input { font: inherit; padding: 5px 8px; border: 1px solid var(--line);
  border-radius: 6px; background: Field; color: FieldText; }
input[type=search] { width: min(420px, 100%); }
#count { color: var(--muted); }
#grid { display: grid; gap: 14px; padding: 16px 20px;
  grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); }
.card { border: 1px solid var(--line); border-radius: 10px; overflow: hidden;
  display: flex; flex-direction: column; }
.media { aspect-ratio: 16 / 9; background: #0002; display: grid; place-items: center;
  position: relative; }
.media[data-v] { cursor: pointer; }
.media[data-v]::after { content: "\\25B6"; position: absolute; font-size: 34px; color: #fff;
  text-shadow: 0 0 8px #000; }
.media img, .media video { width: 100%; height: 100%; object-fit: contain; display: block; }
.media .none { padding: 12px; color: var(--muted); text-align: center; }
.body { padding: 10px 12px; display: flex; flex-direction: column; gap: 6px; }
.top { display: flex; justify-content: space-between; gap: 8px; align-items: baseline; }
.key { font-weight: 600; overflow-wrap: anywhere; }
.status { font-size: 12px; padding: 1px 8px; border-radius: 10px; background: #8883;
  white-space: nowrap; }
.s-completed .status { background: #2a93; } .s-failed .status, .s-invalid .status
  { background: #d333; }
.title { color: var(--muted); overflow-wrap: anywhere; }
.script { margin: 0; white-space: pre-wrap; max-height: 9.5em; overflow: auto;
  overflow-wrap: anywhere; }
.duration { color: var(--muted); font-size: 12px; }
.failure { color: #c33; overflow-wrap: anywhere; }
.failure b { font-family: ui-monospace, monospace; font-weight: 600; }
.orphan { color: var(--muted); font-style: italic; overflow-wrap: anywhere; }
#more { padding: 10px 20px 40px; color: var(--muted); text-align: center; }
</style>
</head>
<body>
<header>
  <h1 id="name"></h1>
  <p id="meta"></p>
  <div class="controls">
    <label>Status <select id="status"><option value="">all</option></select></label>
    <input id="search" type="search" placeholder="Search by key, title or script"
      autocomplete="off" aria-label="Search by key, title or script">
    <span id="count" aria-live="polite"></span>
  </div>
</header>
<main id="grid"></main>
<div id="more"></div>
<script id="data" type="application/json">{{DATA}}</script>
<script>
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var rows = data.rows, meta = data.meta, PAGE = 60;
  var grid = document.getElementById("grid"), more = document.getElementById("more");
  var select = document.getElementById("status"), search = document.getElementById("search");
  var count = document.getElementById("count");
  var matches = rows, shown = 0, haystack = null;
  var number = function (n) { return n.toLocaleString("en-US"); };
  var ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  function esc(text) {
    return String(text).replace(/[&<>"']/g, function (c) { return ESCAPES[c]; });
  }
  function slug(status) { return status.replace(/[^a-z0-9]+/gi, "-"); }

  document.getElementById("name").textContent = meta.name;
  document.title = meta.name + " - heyrender report";
  var about = "Generated " + meta.generated + " \\u00b7 " + number(rows.length) + " rows";
  if (meta.expires) about += " \\u00b7 HeyGen's links in this page expire on " + meta.expires;
  document.getElementById("meta").textContent = about;
  Object.keys(meta.counts).forEach(function (status) {
    var option = document.createElement("option");
    option.value = status;
    option.textContent = status + " (" + number(meta.counts[status]) + ")";
    select.appendChild(option);
  });

  function card(row) {
    var html = '<article class="card s-' + slug(row.s) + '" data-key="' + esc(row.k) + '">';
    if (row.v || row.i || row.n) {
      html += '<div class="media"' + (row.v ? ' data-v="' + esc(row.v) + '"' : "") + ">";
      if (row.i) html += '<img class="thumb" loading="lazy" alt="" src="' + esc(row.i) + '">';
      else if (row.n) html += '<div class="none">' + esc(row.n) + "</div>";
      html += "</div>";
    }
    html += '<div class="body"><div class="top"><span class="key">' + esc(row.k) +
      '</span><span class="status">' + esc(row.s) + "</span></div>";
    if (row.t) html += '<div class="title">' + esc(row.t) + "</div>";
    if (row.d) html += '<div class="duration">' + esc(row.d) + "</div>";
    if (row.f) {
      html += '<div class="failure"><b>' + esc(row.f) + "</b> " + esc(row.m || "") + "</div>";
    }
    if (row.o) html += '<div class="orphan">' + esc(row.o) + "</div>";
    if (row.x) html += '<p class="script">' + esc(row.x) + "</p>";
    return html + "</div></article>";
  }

  function showMore() {
    var next = matches.slice(shown, shown + PAGE);
    if (next.length) grid.insertAdjacentHTML("beforeend", next.map(card).join(""));
    shown += next.length;
    more.textContent = shown < matches.length
      ? "Showing " + number(shown) + " of " + number(matches.length) + "; scroll for more"
      : (matches.length ? "" : "No rows match.");
  }

  function filter() {
    var status = select.value, words = search.value.trim().toLowerCase();
    if (words && haystack === null) {
      haystack = rows.map(function (r) {
        return (r.k + "\\n" + (r.t || "") + "\\n" + (r.x || "")).toLowerCase();
      });
    }
    matches = [];
    for (var i = 0; i < rows.length; i++) {
      if (status && rows[i].s !== status) continue;
      if (words && haystack[i].indexOf(words) < 0) continue;
      matches.push(rows[i]);
    }
    grid.textContent = "";
    shown = 0;
    count.textContent = number(matches.length) + " of " + number(rows.length) + " rows";
    showMore();
  }

  grid.addEventListener("click", function (event) {
    var media = event.target.closest(".media[data-v]");
    if (!media) return;
    var video = document.createElement("video");
    video.controls = true;
    video.autoplay = true;
    video.src = media.getAttribute("data-v");
    media.removeAttribute("data-v");
    media.textContent = "";
    media.appendChild(video);
  });
  select.addEventListener("change", filter);
  search.addEventListener("input", filter);
  if ("IntersectionObserver" in window) {
    var observer = new IntersectionObserver(function (entries) {
      if (!entries[0].isIntersecting || shown >= matches.length) return;
      showMore();
      observer.unobserve(more);  // observing again reports whether it is still in view
      observer.observe(more);
    }, { rootMargin: "1200px" });
    observer.observe(more);
  } else {
    more.addEventListener("click", showMore);
  }
  filter();
})();
</script>
</body>
</html>
"""
