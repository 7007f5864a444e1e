// One pass over a page of the built docs (docs/check_site.py): returns a list
// of [check, message] pairs. `strict` (desktop width) also requires display
// equations to fit the column.
async (strict) => {
  const out = [];
  const add = (check, msg) => out.push([check, msg]);
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const short = (s) => s.replace(/\s+/g, " ").trim().slice(0, 70);
  const doc = document.documentElement;
  if (doc.scrollWidth > window.innerWidth + 1) {
    add("width", `page scrolls sideways (${doc.scrollWidth}px > ${window.innerWidth}px)`);
  }
  const article = document.querySelector("article.bd-article") || document.querySelector("main");
  if (!article) { add("structure", "no article element"); return out; }
  const col = article.getBoundingClientRect();
  const tooWide = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && (r.right > col.right + 1 || el.scrollWidth > el.clientWidth + 1);
  };
  if (article.scrollWidth > article.clientWidth + 1) {
    add("width", `article wider than its column (${article.scrollWidth}px > ${article.clientWidth}px)`);
  }
  for (const h of article.querySelectorAll("h1, h2, h3, h4, h5, h6")) {
    if (tooWide(h)) add("width", `heading wider than its column: "${short(h.textContent)}"`);
  }
  for (const a of document.querySelectorAll(".bd-sidebar-primary nav a, .prev-next-area a")) {
    const r = a.getBoundingClientRect();
    if (r.width > 0 && a.scrollWidth > a.clientWidth + 1) {
      add("width", `navigation link overflows: "${short(a.textContent)}"`);
    }
  }
  for (const m of article.querySelectorAll('mjx-container[display="true"]')) {
    const r = m.getBoundingClientRect();
    if (r.right > col.right + 1) add("width", `equation box outside the column: "${short(m.textContent)}"`);
    else if (strict && m.scrollWidth > m.clientWidth + 1) {
      add("width", `display equation wider than the column (${m.scrollWidth}px > ${m.clientWidth}px): "${short(m.textContent)}"`);
    }
  }
  // Maths: every .math element rendered; no TeX delimiters left in the text.
  for (const e of article.querySelectorAll(".math")) {
    if (!e.querySelector("mjx-container")) add("maths", `unrendered maths: "${short(e.textContent)}"`);
  }
  const clone = article.cloneNode(true);
  for (const e of clone.querySelectorAll("pre, code, .highlight, mjx-container, script, style")) e.remove();
  const text = clone.textContent;
  const raw = text.match(/\\\(|\\\[|\\begin\{/);
  if (raw) add("maths", `raw TeX in the text near "${short(text.slice(Math.max(0, raw.index - 30), raw.index + 30))}"`);
  for (const img of document.images) {
    if (!img.complete || img.naturalWidth === 0) add("images", `image not loaded: ${img.getAttribute("src")}`);
  }
  const jargon = text.match(/spec §|spec section|paper [AB]\b/);
  if (jargon) add("words", `unresolvable reference "${jargon[0]}" near "${short(text.slice(Math.max(0, jargon.index - 30), jargon.index + 30))}"`);
  // arXiv ids in running text must be links.
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    if (!/arXiv:\s?\d{4}\.\d{4,5}/.test(n.nodeValue)) continue;
    if (n.parentElement.closest("a, pre, code, .highlight, script")) continue;
    add("links", `arXiv id not linked: "${short(n.nodeValue)}"`);
  }
  return out;
}
