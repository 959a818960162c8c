"""Keyboard, screen readers and legibility, on top of Gradio's own markup.

* A visible focus ring on every control (radios and checkboxes included), in light and dark.
* The tab strips answer the arrow keys, Home and End (the WAI-ARIA tabs pattern, with one tab
  stop per strip), which Gradio's tabs do not.
* Gradio parts that reach the accessibility tree unnamed or misnamed get a name: an upload zone
  is named by its slot and its visible words, an empty media box gets the role its label needs.
* Polish: light upload zones whose words fit, the "Video" label above the video instead of on
  it, History's table readable at 1280 px, timelines and long ids kept inside their cards.

``tests/test_a11y_browser.py`` runs axe-core on every tab and checks the ring, the keys and the
names.
"""

from __future__ import annotations

ACCESS_CSS = """
/* Focus: a ring on whatever the keyboard reaches (two colours, so it shows on light and dark). */
.gradio-container { --wan-focus: #3730a3; --wan-focus-halo: #ffffff; }
.dark .gradio-container, .dark.gradio-container { --wan-focus: #c7d2fe; --wan-focus-halo: #0b0f19; }
.gradio-container :is(button, a[href], input, textarea, select, summary, [role="tab"], [role="button"],
  [contenteditable="true"], [tabindex]:not([tabindex="-1"])):focus-visible {
  outline: 3px solid var(--wan-focus) !important; outline-offset: 2px !important;
  box-shadow: 0 0 0 5px var(--wan-focus-halo) !important;
}
/* Radios and checkboxes: the whole choice is ringed, not only its small box. */
.gradio-container label:has(> input:is([type="radio"], [type="checkbox"]):focus-visible) {
  outline: 3px solid var(--wan-focus) !important; outline-offset: 2px !important;
}
/* Legible accent text (axe: colour contrast of at least 4.5:1). */
.gradio-container [role="tab"].selected { color: var(--primary-700) !important; }
.dark .gradio-container [role="tab"].selected { color: var(--primary-200) !important; }

/* Upload zones: a light outline and words that fit the box. */
.gradio-container .block[id$="-upload"] { border: 1px dashed var(--border-color-primary) !important; }
.gradio-container .block[id$="-upload"] .upload-container { height: auto !important; min-height: 88px; }
.gradio-container .block[id$="-upload"] .upload-container .wrap {
  height: auto !important; min-height: 0 !important; padding: 2rem 0.5rem 0.6rem; line-height: 1.35;
  font-size: 0.9rem;
}
.thumbs { display: flex; flex-wrap: wrap; gap: 0.4rem; margin: -0.2rem 0 0.4rem; }
.thumbs figure { margin: 0; width: 96px; }
.thumbs img { width: 96px; height: 64px; object-fit: cover; border-radius: 6px;
                             border: 1px solid var(--border-color-primary); background: #000; display: block; }
.thumbs figcaption { font-size: 0.7rem; opacity: 0.8; overflow-wrap: anywhere; line-height: 1.2; }
.thumbs .chip { font-size: 0.75rem; padding: 0.2rem 0.5rem; border-radius: 6px;
                border: 1px solid var(--border-color-primary); }

/* A video's label sits above it, not on its picture. */
.gradio-container .block:has(video, .empty) > label[data-testid="block-label"].float {
  position: static !important; margin: 0 0 0.3rem !important;
}

/* Thumbnails: on the slot's own background, and no empty strip when there are none. */
.gradio-container .block[id$="-thumbs"] { background: var(--block-background-fill); padding: 0 0.6rem; }
.gradio-container .block[id$="-thumbs"]:not(:has(.thumbs)) { display: none !important; }

/* Timelines and ids inside their cards: ids wrap, the run timeline's columns have set widths. */
.status, .guidance { max-width: 100%; box-sizing: border-box; overflow-wrap: break-word; }
.status code { word-break: break-all; }
section[aria-label="Run timeline"] table { table-layout: fixed; width: 100%; }
section[aria-label="Run timeline"] :is(td, th) { overflow-wrap: anywhere; vertical-align: top; }
section[aria-label="Run timeline"] th:nth-child(1) { width: 5.6rem; }
section[aria-label="Run timeline"] th:nth-child(2) { width: 6.2rem; }
section[aria-label="Run timeline"] th:nth-child(4) { width: 7.2rem; }
"""

# Runs once the page is there, and again (debounced) whenever Gradio re-renders a part of it.
ACCESS_HEAD = """
<script>
(function () {
  const visible = (el) => el.offsetParent !== null || el.getClientRects().length > 0;
  function tabsOf(list) {
    return Array.from(list.querySelectorAll('[role="tab"]')).filter((t) => !t.disabled && visible(t));
  }
  // Arrow keys, Home and End move along a tab strip and open the tab they land on.
  document.addEventListener('keydown', (event) => {
    const tab = event.target instanceof Element ? event.target.closest('[role="tab"]') : null;
    const list = tab && tab.closest('[role="tablist"]');
    if (!list) return;
    const tabs = tabsOf(list);
    const at = tabs.indexOf(tab);
    const moves = {ArrowRight: at + 1, ArrowDown: at + 1, ArrowLeft: at - 1, ArrowUp: at - 1,
                   Home: 0, End: tabs.length - 1};
    if (!(event.key in moves) || at < 0) return;
    event.preventDefault();
    const next = tabs[(moves[event.key] + tabs.length) % tabs.length];
    next.focus();
    next.click();
  });
  function mend() {
    // One tab stop per strip: the selected tab (the arrows reach the others).
    document.querySelectorAll('[role="tablist"]').forEach((list) => {
      const tabs = Array.from(list.querySelectorAll('[role="tab"]'));
      const chosen = tabs.find((t) => t.getAttribute('aria-selected') === 'true') || tabs[0];
      tabs.forEach((t) => t.setAttribute('tabindex', t === chosen ? '0' : '-1'));
    });
    // An upload zone is named by its slot and by the words it shows.
    document.querySelectorAll('button.upload-container').forEach((zone) => {
      const block = zone.closest('.block');
      const label = block && block.querySelector('[data-testid="block-label"]');
      const words = zone.textContent.replace(/\\s+/g, ' ').trim();
      const name = [label ? label.textContent.trim() : '', words].filter(Boolean).join(': ');
      if (name && zone.getAttribute('aria-label') !== name) zone.setAttribute('aria-label', name);
    });
    // Read-only code (request, response, exports) scrolls: the keyboard can reach and scroll it.
    document.querySelectorAll('.cm-scroller:not([data-wan-keys])').forEach((scroller) => {
      if (!scroller.querySelector('.cm-content[contenteditable="false"]')) return;
      scroller.dataset.wanKeys = '1';
      const block = scroller.closest('.block');
      const label = block && block.querySelector('[data-testid="block-label"]');
      scroller.setAttribute('tabindex', '0');
      scroller.setAttribute('role', 'region');
      scroller.setAttribute('aria-label', label ? label.textContent.trim() : 'Code');
    });
    // A picture whose alt text repeats its button's words is decoration.
    document.querySelectorAll('footer img[alt]').forEach((img) => {
      const owner = img.closest('a, button');
      if (img.alt && owner && owner.textContent.trim() === img.alt.trim()) img.alt = '';
    });
    // An empty media box carries a label: give it the role that may have one.
    document.querySelectorAll('div.empty[aria-label]:not([role])').forEach((box) => box.setAttribute('role', 'img'));
  }
  // Gradio's light code theme (Nord) draws JSON in pale colours (2.8:1 on white): each rule
  // CodeMirror made with one of them gets a darker twin for the light page.
  const DARKER = {
    'rgb(208, 135, 112)': '#9a3412', 'rgb(143, 188, 187)': '#115e59', 'rgb(163, 190, 140)': '#3f6212',
    'rgb(136, 192, 208)': '#155e75', 'rgb(129, 161, 193)': '#1e40af', 'rgb(94, 129, 172)': '#1e3a8a',
    'rgb(191, 97, 106)': '#991b1b', 'rgb(235, 203, 139)': '#854d0e', 'rgb(180, 142, 173)': '#6b21a8',
    'rgb(76, 86, 106)': '#374151',
  };
  const editors = new WeakSet();
  const twinned = new Set();
  let twins = null;
  function mendCode() {
    const fresh = Array.from(document.querySelectorAll('.cm-editor')).filter((e) => !editors.has(e));
    if (!fresh.length) return;
    fresh.forEach((e) => editors.add(e));
    if (twins === null) {
      twins = document.createElement('style');
      twins.id = 'wan-code-contrast';
      document.head.appendChild(twins);
    }
    const sheets = [...Array.from(document.styleSheets), ...(document.adoptedStyleSheets || [])];
    for (const sheet of sheets) {
      let rules = [];
      try { rules = Array.from(sheet.cssRules); } catch (e) { continue; }
      for (const rule of rules) {
        const sel = rule.selectorText;
        const darker = rule.style && DARKER[rule.style.color];
        if (!darker || !sel || !/^\\.\\S+$/.test(sel) || twinned.has(sel) || sheet === twins.sheet) continue;
        twinned.add(sel);
        twins.sheet.insertRule(`body:not(.dark) ${sel} { color: ${darker}; }`, twins.sheet.cssRules.length);
      }
    }
  }
  let pending = null;
  const soon = () => {
    if (pending === null) pending = setTimeout(() => { pending = null; mend(); mendCode(); }, 60);
  };
  new MutationObserver(soon).observe(document.documentElement,
    {subtree: true, childList: true, attributes: true, attributeFilter: ['aria-selected', 'class']});
  document.addEventListener('DOMContentLoaded', soon);
})();
</script>
"""
