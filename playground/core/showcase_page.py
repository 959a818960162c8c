"""The one HTML page that presents runs: the showcase, a share link's page and the offline deck.

:func:`render` takes slides (:mod:`playground.core.showcase_slides`) and returns a complete,
self-contained page: inline CSS and script, no font, script or style from anywhere else, so the
same bytes work behind the server's strict policy (pass its ``nonce``) and from ``file://`` with
no network (the deck). One run at a time, large; arrow keys and on-screen buttons move; ``f``
toggles full screen (Fullscreen API); ``g`` the grid overview; videos play muted on their own.
A video edit's source plays beside its result in step: the result drives, the source follows.

Every text is escaped here; URLs come from the caller (signed server links or deck file names)
and are escaped as attribute values. Pure: no I/O.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from playground.core.video_sync import FOLLOW_JS

EMPTY = "Nothing to show yet: star a run (its status panel or History) and it appears here."

_CSS = """
*{box-sizing:border-box}[hidden]{display:none!important}html,body{margin:0;height:100%;background:#0d0f12;color:#eef0f3;
font:16px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
button,a.btn{font:inherit;color:#eef0f3;background:#23272e;border:1px solid #3a404a;border-radius:6px;
padding:.35em .8em;cursor:pointer;text-decoration:none}button:hover,a.btn:hover{background:#2f3540}
button:focus-visible,a.btn:focus-visible{outline:3px solid #7cb7ff;outline-offset:2px}
button[aria-pressed=true]{background:#2d4a6e;border-color:#7cb7ff}
header{display:flex;align-items:center;gap:1em;padding:.5em 1em;border-bottom:1px solid #23272e}
header h1{font-size:1.05em;margin:0;font-weight:600;flex:1}header nav{display:flex;gap:.4em;flex-wrap:wrap}
#pos{font-variant-numeric:tabular-nums;color:#aab2bf}
main{height:calc(100% - 3.2em);padding:1em}
.slide{height:100%;display:flex;flex-direction:column;gap:.8em}
.media{flex:1;min-height:0;display:flex;gap:1em;align-items:stretch;justify-content:center}
figure{margin:0;display:flex;flex-direction:column;min-width:0;min-height:0}
figure.after{flex:2}figure.before{flex:1}.media.pair figure.before{flex:2}
.befores{flex:1;display:flex;flex-direction:column;gap:.6em;min-width:0;overflow:auto}
.media.pair .befores{flex:2}
figure video,figure img{width:100%;flex:1;min-height:0;object-fit:contain;background:#000;border-radius:6px}
.befores figure img,.befores figure video{max-height:40vh}.media.pair .befores figure video{max-height:none}
figcaption{font-size:.85em;color:#aab2bf;padding:.25em 0}
.missing{border:1px dashed #3a404a;border-radius:6px;padding:.8em;color:#aab2bf}
.caption h2{margin:0 0 .2em;font-size:1.2em}.prompt{margin:0 0 .4em;white-space:pre-wrap;max-height:6.5em;overflow:auto}
dl{display:flex;flex-wrap:wrap;gap:.2em 1.4em;margin:0}dl div{display:flex;gap:.4em}dt{color:#aab2bf}dd{margin:0}
.note{color:#f0c36d}
#overview{position:fixed;inset:3.2em 0 0 0;background:#0d0f12;overflow:auto;padding:1em}
#overview ol{list-style:none;margin:0;padding:0;display:grid;gap:1em;
grid-template-columns:repeat(auto-fill,minmax(240px,1fr))}
#overview button{width:100%;text-align:left;display:flex;flex-direction:column;gap:.3em;height:100%}
#overview video{width:100%;aspect-ratio:16/9;background:#000;border-radius:4px}
#overview .current{border-color:#7cb7ff}
.empty{padding:3em;text-align:center;color:#aab2bf}
"""

# Plain ES5-ish script: runs from file:// with no module loader and no network.
_JS = FOLLOW_JS + """
(function(){
var slides=[].slice.call(document.querySelectorAll('.slide'));
var body=document.body,pos=document.getElementById('pos'),grid=document.getElementById('overview');
var gridBtn=document.getElementById('grid-btn'),advBtn=document.getElementById('advance');
var current=0,advance=false;
function vids(s,sel){return [].slice.call(s.querySelectorAll(sel));}
function play(v){var p=v.play();if(p&&p.catch){p.catch(function(){});}}
function show(i){
  if(!slides.length){return;}
  current=(i+slides.length)%slides.length;
  slides.forEach(function(s,k){
    var on=k===current;s.hidden=!on;
    vids(s,'video').forEach(function(v){if(!on){v.pause();}});
  });
  var s=slides[current],r=s.querySelector('video.result');
  vids(s,'video[data-sync]').forEach(function(v){v.currentTime=r?r.currentTime:0;});
  if(r){r.loop=!advance;play(r);}
  body.setAttribute('data-current',String(current));
  if(pos){pos.textContent=(current+1)+' / '+slides.length;}
  [].slice.call(document.querySelectorAll('#overview button')).forEach(function(b,k){
    b.classList.toggle('current',k===current);});
}
function setGrid(open){if(!grid){return;}grid.hidden=!open;gridBtn.setAttribute('aria-pressed',String(open));
  if(open){var b=grid.querySelectorAll('button')[current];if(b){b.focus();}}}
function fullscreen(){
  if(document.fullscreenElement){document.exitFullscreen();}
  else if(document.documentElement.requestFullscreen){document.documentElement.requestFullscreen().catch(function(){});}
}
slides.forEach(function(s){
  var r=s.querySelector('video.result'),followers=vids(s,'video[data-sync]');
  if(!r){return;}
  // The result is the clock (core/video_sync.py). It loops unless auto-advance is on (then its
  // end moves on); a source that follows it loops too, so neither stops for a moment at its end.
  // An 'ended' queued just before the slide was left must not move the show on.
  window.wanFollow(r,function(){return followers;},true);
  followers.forEach(function(v){v.loop=true;});
  r.addEventListener('ended',function(){if(advance&&slides[current]===s){show(current+1);}});
});
function on(id,f){var e=document.getElementById(id);if(e){e.addEventListener('click',f);}}
on('prev',function(){show(current-1);});on('next',function(){show(current+1);});
on('full',fullscreen);on('grid-btn',function(){setGrid(grid.hidden);});
on('advance',function(){advance=!advance;advBtn.setAttribute('aria-pressed',String(advance));
  var r=slides[current]&&slides[current].querySelector('video.result');if(r){r.loop=!advance;}});
[].slice.call(document.querySelectorAll('#overview button')).forEach(function(b){
  b.addEventListener('click',function(){show(Number(b.getAttribute('data-go')));setGrid(false);});});
document.addEventListener('keydown',function(e){
  if(e.altKey||e.ctrlKey||e.metaKey){return;}
  var k=e.key,gridOpen=grid&&!grid.hidden;
  if(k==='ArrowRight'||k==='PageDown'){if(!gridOpen){show(current+1);e.preventDefault();}}
  else if(k==='ArrowLeft'||k==='PageUp'){if(!gridOpen){show(current-1);e.preventDefault();}}
  else if(k==='Home'){show(0);e.preventDefault();}
  else if(k==='End'){show(slides.length-1);e.preventDefault();}
  else if(k==='g'||k==='G'){setGrid(!gridOpen);e.preventDefault();}
  else if(k==='Escape'&&gridOpen){setGrid(false);}
  else if(k==='f'||k==='F'){fullscreen();e.preventDefault();}
  else if(k===' '&&e.target===body){var r=slides[current]&&slides[current].querySelector('video.result');
    if(r){if(r.paused){play(r);}else{r.pause();}e.preventDefault();}}
},true);
show(0);
})();
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _before_html(item: Mapping[str, Any]) -> str:
    label, url, kind = _e(item.get("label", "")), item.get("url"), item.get("kind")
    if not url:
        return (f'<figure class="before missing"><figcaption>Before · {label}</figcaption>'
                f'<p>{_e(item.get("note") or "not shown")}</p></figure>')
    src = _e(url)
    if kind == "image":
        media = f'<img src="{src}" alt="{label}">'
    elif kind == "audio":
        media = f'<audio src="{src}" controls preload="metadata"></audio>'
    elif item.get("sync"):
        # Follows the result: no controls of its own, muted so it may start without a click.
        media = f'<video src="{src}" data-sync muted playsinline preload="auto" aria-label="{label}"></video>'
    else:
        media = f'<video src="{src}" muted playsinline controls preload="metadata" aria-label="{label}"></video>'
    return f'<figure class="before">{media}<figcaption>Before · {label}</figcaption></figure>'


def _slide_html(index: int, count: int, slide: Mapping[str, Any]) -> str:
    title = _e(slide.get("title", ""))
    befores = [b for b in slide.get("before") or () if isinstance(b, Mapping)]
    video = slide.get("video")
    if video:
        after = (f'<figure class="after"><video class="result" src="{_e(video)}" muted playsinline controls '
                 f'preload="auto" aria-label="Result video"></video><figcaption>After · result</figcaption></figure>')
    else:
        note = _e(slide.get("video_note") or "No video.")
        after = f'<figure class="after missing"><p class="note">{note}</p></figure>'
    before_html = "".join(_before_html(b) for b in befores)
    pair = " pair" if slide.get("sync") else ""
    media = f'<div class="media{pair}">' + (f'<div class="befores">{before_html}</div>' if befores else "") + after
    facts = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in slide.get("facts") or ())
    caption = (f'<div class="caption"><h2>{title}</h2><p class="prompt">{_e(slide.get("prompt", ""))}</p>'
               f"<dl>{facts}</dl></div>")
    hidden = "" if index == 0 else " hidden"
    mode = _e(slide.get("mode", ""))
    return (f'<section class="slide" id="slide-{index + 1}" data-index="{index}" data-mode="{mode}"'
            f' aria-label="Run {index + 1} of {count}: {title}"{hidden}>{media}</div>{caption}</section>')


def _tile_html(index: int, slide: Mapping[str, Any]) -> str:
    prompt = str(slide.get("prompt", ""))
    short = prompt[:90] + ("…" if len(prompt) > 90 else "")
    still = f'<video src="{_e(slide["video"])}" muted preload="metadata"></video>' if slide.get("video") else ""
    return (f'<li><button type="button" data-go="{index}">{still}<strong>{index + 1}. {_e(slide.get("title", ""))}'
            f"</strong><span>{_e(short)}</span></button></li>")


def render(slides: Sequence[Mapping[str, Any]], *, title: str, nonce: str | None = None,
           deck_url: str | None = None, empty_text: str = EMPTY) -> str:
    """A complete page presenting ``slides``; ``nonce`` marks its inline style and script for a
    Content-Security-Policy; ``deck_url`` adds a "Download deck" link (server pages only)."""
    mark = f' nonce="{_e(nonce)}"' if nonce else ""
    count = len(slides)
    controls = ""
    if count:
        controls = (
            '<span id="pos" aria-live="polite"></span><nav aria-label="Presentation">'
            '<button type="button" id="prev" aria-label="Previous run">&larr; Prev</button>'
            '<button type="button" id="next" aria-label="Next run">Next &rarr;</button>'
            '<button type="button" id="grid-btn" aria-pressed="false" title="g">Overview</button>'
            '<button type="button" id="advance" aria-pressed="false">Auto-advance</button>'
            '<button type="button" id="full" title="f">Full screen</button>'
            + (f'<a class="btn" id="deck" href="{_e(deck_url)}" download>Download deck</a>' if deck_url else "")
            + "</nav>"
        )
    content = "".join(_slide_html(i, count, s) for i, s in enumerate(slides))
    content = content or f'<p class="empty">{_e(empty_text)}</p>'
    overview = (f'<section id="overview" aria-label="Overview" hidden><ol>'
                f'{"".join(_tile_html(i, s) for i, s in enumerate(slides))}</ol></section>') if count else ""
    script = f"<script{mark}>{_JS}</script>" if count else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{_e(title)}</title><style{mark}>{_CSS}</style></head>"
        f'<body data-count="{count}" data-current="0"><header><h1>{_e(title)}</h1>{controls}</header>'
        f"<main id=\"stage\">{content}</main>{overview}{script}</body></html>"
    )
