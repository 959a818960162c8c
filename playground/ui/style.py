"""Look and feel: a calm theme and a little CSS, readable at 1280x720 in light and dark."""

from __future__ import annotations

import gradio as gr

from playground.core.video_sync import FOLLOW_JS

# Every text at a contrast of 4.5:1 or more (axe-checked, tests/test_a11y_browser.py): labels in
# indigo 700 on their pale chips, white on indigo 600 (not 500), hints in grey 600 (not 400).
THEME = gr.themes.Soft(primary_hue="indigo", secondary_hue="slate", radius_size="md").set(
    block_label_text_color="*primary_700",
    block_title_text_color="*primary_700",
    block_info_text_color="*neutral_600",
    body_text_color_subdued="*neutral_600",
    checkbox_label_background_fill_selected="*primary_600",
    button_primary_background_fill="*primary_600",
    button_primary_background_fill_hover="*primary_700",
)

CSS = """
.gradio-container { max-width: 1400px !important; }
#header h1 { margin: 0; font-size: 1.5rem; }
#header p { margin: 0.2rem 0 0; opacity: 0.75; }
.badge { display: inline-block; padding: 0 0.5rem; border-radius: 999px; font-size: 0.8rem;
         border: 1px solid var(--border-color-primary); margin-left: 0.4rem; }
.counter { text-align: right; font-size: 0.8rem; opacity: 0.7; margin-top: -0.4rem; }
.counter.over { color: var(--color-accent); opacity: 1; font-weight: 600; }
.verdict { padding: 0.5rem 0.75rem; border-radius: 8px; font-size: 0.9rem; }
.verdict ul { margin: 0.3rem 0 0 1rem; padding: 0; }
.verdict.ok { background: rgba(16, 185, 129, 0.12); }
.verdict.warn { background: rgba(245, 158, 11, 0.14); }
.verdict.bad { background: rgba(239, 68, 68, 0.12); }
.verdict li.warning { list-style: circle; }
.status { padding: 0.6rem 0.75rem; border-radius: 8px; border: 1px solid var(--border-color-primary);
          font-size: 0.9rem; }
.status .state { font-weight: 700; }
.status table { width: 100%; font-size: 0.85rem; margin-top: 0.4rem; }
.status progress { width: 100%; }
.status progress.waiting { height: 4px; display: block; }
.status .estimate { font-size: 0.8rem; opacity: 0.8; }
.status .notice { font-weight: 600; margin: 0.2rem 0; }
.guidance.recovered, .guidance.notice { border-left-color: #10b981; background: rgba(16, 185, 129, 0.08);
                                        font-size: 0.85rem; }
.guidance.notice { border-left-color: #f59e0b; background: rgba(245, 158, 11, 0.1); }
.guidance { padding: 0.75rem; border-radius: 8px; border-left: 4px solid #ef4444;
            background: rgba(239, 68, 68, 0.08); }
.guidance.retrying { border-left-color: #f59e0b; background: rgba(245, 158, 11, 0.1); }
.guidance h3 { margin: 0 0 0.3rem; font-size: 1rem; }
.guidance dl { margin: 0; } .guidance dt { font-weight: 600; margin-top: 0.3rem; }
.guidance dd { margin: 0 0 0 0.5rem; }
.compare .videos { display: flex; gap: 0.5rem; flex-wrap: wrap; }
.compare figure { margin: 0; flex: 1 1 200px; } .compare video { width: 100%; border-radius: 6px; }
.compare table { width: 100%; font-size: 0.85rem; margin-top: 0.5rem; }
.compare tr.differs td, .compare tr.differs th { background: rgba(245, 158, 11, 0.18); font-weight: 600; }
.compare .novideo { padding: 2rem; text-align: center; opacity: 0.6; border: 1px dashed var(--border-color-primary); }
.retries ul { margin: 0.2rem 0 0 1rem; font-size: 0.8rem; }
.measured { font-size: 0.85rem; opacity: 0.85; }
.shot-help, .shot-note, .ref-tokens { font-size: 0.85rem; }
.shot-note { padding: 0.3rem 0.6rem; border-radius: 8px; background: rgba(16, 185, 129, 0.1); }
.shot-note.warn { background: rgba(245, 158, 11, 0.14); }
.shot-note p, .shot-note ul { margin: 0.15rem 0; } .shot-note ul { padding-left: 1rem; }
.ref-tokens ul, .token-uses ul { margin: 0.2rem 0 0 1rem; padding: 0; }
.token-uses { margin-top: 0.4rem; font-weight: normal; }
.unnamed { color: #b45309; font-weight: 600; }
.quote { padding: 0.5rem 0.75rem; border-radius: 8px; border: 1px dashed var(--border-color-primary);
         font-size: 0.9rem; }
.quote ul { margin: 0.2rem 0 0 1rem; padding: 0; font-size: 0.82rem; opacity: 0.85; }
.quote .budget { margin-top: 0.3rem; font-size: 0.85rem; }
.quote .budget.over { color: #b91c1c; font-weight: 600; }
.cost { margin-top: 0.4rem; padding: 0.4rem 0.75rem; border-radius: 8px; font-size: 0.88rem;
        background: rgba(99, 102, 241, 0.08); }
.cost ul { margin: 0.2rem 0 0 1rem; padding: 0; font-size: 0.82rem; }
.cost table.quote-vs-bill { font-size: 0.85rem; margin-top: 0.3rem; }
.var-cells { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 0.5rem;
             margin-top: 0.5rem; }
.var-cell { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.4rem 0.6rem;
            font-size: 0.85rem; min-width: 0; }
.var-cell.bad { border-color: #b91c1c; background: rgba(239, 68, 68, 0.06); }
.var-cell .var-badge { font-size: 0.75rem; padding: 0 0.4rem; border-radius: 999px;
                       border: 1px solid var(--border-color-primary); }
.var-cell ul.problems { margin: 0.2rem 0 0 1rem; padding: 0; color: #b91c1c; }
.var-cell pre.var-body { max-height: 220px; overflow: auto; font-size: 0.75rem; margin: 0.3rem 0 0; }
.var-cost { font-size: 0.8rem; opacity: 0.85; } .var-quote { font-size: 0.85rem; margin-top: 0.2rem; }
.var-sent { margin-top: 0.4rem; font-weight: 600; }
.sheet-head { display: flex; justify-content: space-between; align-items: center; gap: 0.5rem; flex-wrap: wrap; }
.sheet-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 0.5rem;
              margin-top: 0.5rem; }
.sheet-cell { margin: 0; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 0.4rem;
              min-width: 0; }
.sheet-cell figcaption { font-size: 0.85rem; margin-bottom: 0.3rem; }
.sheet-cell video { width: 100%; max-height: 200px; border-radius: 6px; background: #000; }
.sheet-cell .novideo { padding: 2rem 0.5rem; text-align: center; border: 1px dashed var(--border-color-primary);
                       border-radius: 6px; }
.sheet-actions { display: flex; flex-wrap: wrap; gap: 0.25rem; margin-top: 0.3rem; }
.sheet-actions button, .sheet .sync-play { font-size: 0.8rem; padding: 0.15rem 0.5rem; border-radius: 6px;
                                           border: 1px solid var(--border-color-primary); cursor: pointer;
                                           background: var(--button-secondary-background-fill);
                                           color: var(--button-secondary-text-color); }
.sheet-actions button[aria-pressed="true"] { font-weight: 700; }
"""

# One "play all in sync" for every group of videos (History's comparison, a batch's contact
# sheet): all start at 0 together and the longest is the clock the others follow
# (core/video_sync.py), so a shorter one holds its last frame once it is done (until the clock
# loops, when it loops at all).
HEAD = f"""
<script>
{FOLLOW_JS}
window.wanSyncPlay = async (root) => {{
  const videos = Array.from(root.querySelectorAll('video.sync'));
  if (!videos.length) return;
  videos.forEach(v => v.pause());
  await Promise.all(videos.map(v => new Promise(done => {{
    if (v.readyState >= 1 && Number.isFinite(v.duration)) return done();
    v.addEventListener('loadedmetadata', done, {{once: true}});
    v.addEventListener('error', done, {{once: true}});
    v.load();
  }})));
  const clock = videos.reduce((a, b) => ((b.duration || 0) > (a.duration || 0) ? b : a));
  // Looping videos (the contact sheet's) share one cycle, the clock's: a shorter one holds its
  // last frame until the clock wraps, and all start again together.
  const looping = videos.some(v => v.loop);
  videos.forEach(v => {{ v.loop = false; v.currentTime = 0; }});
  clock.loop = looping;
  window.wanFollow(clock, () => Array.from(root.querySelectorAll('video.sync')), false);
  await Promise.all(videos.map(v => v.play().catch(() => null)));
}};
</script>
"""
