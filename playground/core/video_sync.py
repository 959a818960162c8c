"""How videos play in step: one script, used by every page that shows videos side by side.

History's comparison and a batch's contact sheet (through the Gradio page's head) and the
showcase page, share pages and offline deck (inline, so it works from ``file://``) all call
``wanFollow(clock, others, loop)``: one video is the clock and the others follow it.

Why not simply seek a follower whenever it drifts: a seek takes a moment to land, the clock
moves on meanwhile, so the follower lands behind again and the two chase each other in visible
jumps (on a loaded machine by about a fifth of a second, every quarter second). A small drift is
instead closed by playing the follower a little faster or slower for a moment; only a large one
(a seek on the clock, a stall) seeks. With ``loop`` the followers loop at their own length and
the drift is measured round the loop, so a wrap is not a jump; without it a follower shorter
than the clock holds its last frame once it is done.

Plain ES5 (no modules, no arrow functions): the deck page runs offline in any browser.
"""

from __future__ import annotations

# A drift above SEEK_S seconds seeks; above NUDGE_S it is closed by a rate change of RATE_STEP.
# When the clock starts or is sought, a follower further off than JUMP_S seeks to it at once.
SEEK_S = 1.0
JUMP_S = 0.25
NUDGE_S = 0.04
RATE_STEP = 0.2

FOLLOW_JS = f"""
window.wanFollow=window.wanFollow||function(clock,others,loop){{
  clock.wanOthers=others;clock.wanLoop=!!loop;
  if(clock.dataset.wanClock){{return;}}
  clock.dataset.wanClock='1';
  function list(){{return (clock.wanOthers()||[]).filter(function(v){{return v!==clock&&v.isConnected;}});}}
  function start(v){{var p=v.play();if(p&&p.catch){{p.catch(function(){{}});}}}}
  function target(v){{
    var d=v.duration||0,t=clock.currentTime;
    if(clock.wanLoop&&d){{return t%d;}}
    return Math.min(t,d);
  }}
  function gap(v){{
    var d=v.duration||0,g=target(v)-v.currentTime;
    if(clock.wanLoop&&d){{if(g>d/2){{g-=d;}}else if(g<-d/2){{g+=d;}}}}
    return g;
  }}
  function done(v){{return !clock.wanLoop&&clock.currentTime>=(v.duration||0)-0.05;}}
  function follow(v){{
    var rate=clock.playbackRate,g=gap(v);
    if(done(v)){{v.playbackRate=rate;return;}}
    if(Math.abs(g)>{SEEK_S}){{v.currentTime=target(v);v.playbackRate=rate;}}
    else if(Math.abs(g)>{NUDGE_S}){{v.playbackRate=rate*(g>0?1+{RATE_STEP}:1-{RATE_STEP});}}
    else{{v.playbackRate=rate;}}
    if(!clock.paused&&v.paused){{start(v);}}
  }}
  function jump(){{list().forEach(function(v){{
    if(Math.abs(gap(v))>{JUMP_S}){{v.currentTime=target(v);}}
    follow(v);}});}}
  clock.addEventListener('timeupdate',function(){{if(!clock.paused){{list().forEach(follow);}}}});
  clock.addEventListener('play',jump);
  clock.addEventListener('seeked',jump);
  clock.addEventListener('pause',function(){{if(!clock.ended){{list().forEach(function(v){{v.pause();}});}}}});
}};
"""
