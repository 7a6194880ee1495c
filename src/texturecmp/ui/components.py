"""A before/after wipe slider that runs in the browser (``st.components.v2``, inline code, no CDN).

The two pictures are passed as ``data:`` URLs; dragging the handle (or the range input,
which also works with the keyboard) moves the boundary without any round trip to Python.
"""

from __future__ import annotations

import streamlit as st

__all__ = ["wipe_slider"]

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
