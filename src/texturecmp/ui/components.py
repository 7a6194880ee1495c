"""Browser components of the app (``st.components.v2``, inline HTML/CSS/JS, no CDN, no build step).

* :func:`wipe_slider`: a before/after wipe. The two pictures are passed as ``data:`` URLs;
  dragging the handle (or the range input, which also works with the keyboard) moves the
  boundary without any round trip to Python.
* :func:`camera_capture`: the device camera (``getUserMedia``) with the baseline as a
  semi-transparent ghost over the live view; a shot goes to Python as a JPEG ``data:`` URL.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["wipe_slider", "camera_capture"]

_HTML = '<div class="tc-wipe" data-testid="tc-wipe"></div>'

_CSS = """
.tc-wipe { position: relative; width: 100%; max-width: var(--tc-w, 768px); user-select: none; font-family: sans-serif; }
.tc-wipe .frame { position: relative; width: 100%; line-height: 0; overflow: hidden; border-radius: 4px; cursor: ew-resize; }
.tc-wipe img { display: block; width: 100%; height: auto; pointer-events: none; }
.tc-wipe .before { position: absolute; inset: 0; }
.tc-wipe .bar { position: absolute; top: 0; bottom: 0; width: 2px; background: #fff; box-shadow: 0 0 3px #000; transform: translateX(-1px); }
.tc-wipe .knob { position: absolute; top: 50%; width: 26px; height: 26px; margin: -13px 0 0 -13px; border-radius: 50%;
  background: #fff; box-shadow: 0 0 4px #000; line-height: 26px; text-align: center; font-size: 13px; color: #333; }
.tc-wipe .tag { position: absolute; top: 6px; padding: 2px 6px; font-size: 12px; line-height: 1.3; color: #fff;
  background: rgba(0, 0, 0, 0.55); border-radius: 3px; }
.tc-wipe .tag.l { left: 6px; } .tc-wipe .tag.r { right: 6px; }
.tc-wipe input[type=range] { width: 100%; margin: 6px 0 0; }
"""

_JS = """
export default function (component) {
  const { data, parentElement } = component;
  const root = parentElement.querySelector('.tc-wipe');
  if (!root || !data) return;
  if (root.dataset.sig === data.sig) {           // same pictures: keep the position, update the names
    const l = root.querySelector('.tag.l'), r = root.querySelector('.tag.r');
    if (l) l.textContent = data.before_label;
    if (r) r.textContent = data.after_label;
    return;
  }
  root.dataset.sig = data.sig;
  root.style.setProperty('--tc-w', (data.width || 768) + 'px');
  const pos0 = root.dataset.pos ? Number(root.dataset.pos) : 50;
  root.innerHTML = '';
  const frame = document.createElement('div'); frame.className = 'frame';
  const after = document.createElement('img'); after.src = data.after; after.alt = data.after_label;
  const before = document.createElement('img'); before.src = data.before; before.alt = data.before_label; before.className = 'before';
  const bar = document.createElement('div'); bar.className = 'bar';
  const knob = document.createElement('div'); knob.className = 'knob'; knob.textContent = '\\u2194'; bar.appendChild(knob);
  const tl = document.createElement('div'); tl.className = 'tag l'; tl.textContent = data.before_label;
  const tr = document.createElement('div'); tr.className = 'tag r'; tr.textContent = data.after_label;
  frame.append(after, before, bar, tl, tr);
  const range = document.createElement('input');
  range.type = 'range'; range.min = '0'; range.max = '100'; range.step = '0.5'; range.value = String(pos0);
  range.setAttribute('aria-label', 'Wipe between ' + data.before_label + ' and ' + data.after_label);
  root.append(frame, range);
  const set = (p) => {
    p = Math.max(0, Math.min(100, p));
    before.style.clipPath = 'inset(0 ' + (100 - p) + '% 0 0)';
    bar.style.left = p + '%';
    range.value = String(p);
    root.dataset.pos = String(p);
  };
  set(pos0);
  range.addEventListener('input', () => set(Number(range.value)));
  let dragging = false;
  const move = (ev) => {
    const r = frame.getBoundingClientRect();
    set(100 * (ev.clientX - r.left) / r.width);
  };
  frame.addEventListener('pointerdown', (ev) => { dragging = true; frame.setPointerCapture(ev.pointerId); move(ev); });
  frame.addEventListener('pointermove', (ev) => { if (dragging) move(ev); });
  frame.addEventListener('pointerup', () => { dragging = false; });
}
"""

_component = None


def _get():
    global _component
    if _component is None:
        _component = st.components.v2.component("texturecmp_wipe", html=_HTML, css=_CSS, js=_JS)
    return _component


def wipe_slider(before_url: str, after_url: str, *, before_label: str, after_label: str, sig: str,
                width: int = 768, key: str = "wipe") -> None:
    """Mount the slider. ``sig`` identifies the picture pair (unchanged sig: the position is kept)."""
    _get()(data={"before": before_url, "after": after_url, "before_label": before_label, "after_label": after_label,
                 "sig": sig, "width": width}, key=key, height="content")


# ------------------------------------------------------------------------------ the camera with a ghost of the baseline

_CAM_HTML = '<div class="tc-cam" data-testid="tc-cam"></div>'

_CAM_CSS = """
.tc-cam { width: 100%; max-width: 960px; font-family: sans-serif; font-size: 14px; }
.tc-cam .view { position: relative; width: 100%; line-height: 0; background: #111; border-radius: 4px; overflow: hidden; }
.tc-cam video { width: 100%; height: auto; display: block; }
.tc-cam img.ghost { position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain; pointer-events: none; }
.tc-cam .row { display: flex; flex-wrap: wrap; gap: 10px; align-items: center; margin: 8px 0; line-height: 1.4; }
.tc-cam button { padding: 6px 14px; border-radius: 6px; border: 1px solid #bbb; background: #fff; cursor: pointer; font-size: 14px; }
.tc-cam button.primary { background: #d33; color: #fff; border-color: #d33; }
.tc-cam input[type=range] { flex: 1 1 160px; min-width: 120px; }
.tc-cam .msg { color: #555; }
"""

_CAM_JS = """
export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector('.tc-cam');
  if (!root || !data) return;
  if (root.dataset.ready) {                        // already built: follow the new ghost picture
    const g = root.querySelector('img.ghost');
    if (g && g.dataset.src !== data.ghost) { g.src = data.ghost; g.dataset.src = data.ghost; }
    return;
  }
  root.dataset.ready = '1';
  const view = document.createElement('div'); view.className = 'view';
  const video = document.createElement('video'); video.autoplay = true; video.muted = true; video.playsInline = true;
  const ghost = document.createElement('img'); ghost.className = 'ghost'; ghost.alt = 'baseline ghost';
  ghost.src = data.ghost; ghost.dataset.src = data.ghost; ghost.style.opacity = '0.4';
  view.append(video, ghost);
  const row = document.createElement('div'); row.className = 'row';
  const start = document.createElement('button'); start.textContent = 'Open the camera';
  const shoot = document.createElement('button'); shoot.textContent = 'Take the photo'; shoot.className = 'primary';
  shoot.disabled = true;
  const lab = document.createElement('label'); lab.textContent = 'Ghost opacity';
  const op = document.createElement('input'); op.type = 'range'; op.min = '0'; op.max = '100'; op.value = '40';
  op.setAttribute('aria-label', 'Opacity of the baseline ghost');
  op.addEventListener('input', () => { ghost.style.opacity = String(Number(op.value) / 100); });
  const msg = document.createElement('span'); msg.className = 'msg';
  msg.textContent = 'Line the skin up with the ghost of the baseline, then take the photo.';
  row.append(start, shoot, lab, op);
  root.append(view, row, msg);
  let stream = null;
  start.addEventListener('click', async () => {
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 3840 }, height: { ideal: 2160 },
                                                                    facingMode: 'environment' }, audio: false });
      video.srcObject = stream;
      await video.play();
      shoot.disabled = false; start.disabled = true;
      msg.textContent = 'Camera open: ' + video.videoWidth + '×' + video.videoHeight + '.';
    } catch (e) {
      msg.textContent = 'The camera could not be opened (' + e.name + '): allow the camera for this page, or upload a photo instead.';
    }
  });
  shoot.addEventListener('click', () => {
    const c = document.createElement('canvas');
    c.width = video.videoWidth; c.height = video.videoHeight;
    c.getContext('2d').drawImage(video, 0, 0);
    const n = Number(root.dataset.n || 0) + 1; root.dataset.n = String(n);
    setStateValue('shot', { n: n, url: c.toDataURL('image/jpeg', 0.92) });
    msg.textContent = 'Photo ' + n + ' taken (' + c.width + '×' + c.height + '); checked below.';
  });
  return () => { if (stream) stream.getTracks().forEach((t) => t.stop()); };
}
"""

_camera = None


def camera_capture(ghost_url: str, *, key: str = "camera") -> dict | None:
    """The device camera with the baseline as a semi-transparent ghost over the live view (an
    opacity slider; getUserMedia, no CDN). Returns the last shot, ``{"n": count, "url": JPEG data URL}``,
    or None. The shot stays in this session's memory."""
    global _camera
    if _camera is None:
        _camera = st.components.v2.component("texturecmp_camera", html=_CAM_HTML, css=_CAM_CSS, js=_CAM_JS)
    res = _camera(data={"ghost": ghost_url}, key=key, height="content", default={"shot": None},
                  on_shot_change=lambda: None)
    shot = getattr(res, "shot", None)
    return shot if isinstance(shot, dict) and shot.get("url") else None
