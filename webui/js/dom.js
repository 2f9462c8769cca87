/** Small DOM helpers shared by the three web clients: build elements, show messages, format. */

/** `h('button', {class: 'primary', onclick}, 'Text', child)` → an element. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else if (key === 'text') el.textContent = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key in el && typeof value !== 'string') el[key] = value;
    else el.setAttribute(key, value === true ? '' : value);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content. */
export function put(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** A message box: kind 'error' (role=alert), 'ok' or 'info' (role=status). */
export function message(kind, text, code) {
  return h('p', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status', dataset: code ? { code } : {} }, text);
}

/** Show an error from the API or elsewhere in `el` (its message, never a stack). */
export function showError(el, err) {
  put(el, message('error', err && err.message ? err.message : String(err), err && err.code));
}

/** A labelled form field. */
export function field(label, input) {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 9)}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

/** A form's values by input name (checkboxes as booleans, radios as the checked one's value). */
export function values(form) {
  const out = {};
  for (const el of form.elements) {
    if (!el.name) continue;
    if (el.type === 'checkbox') out[el.name] = el.checked;
    else if (el.type === 'radio') { if (el.checked) out[el.name] = el.value; } else out[el.name] = el.value;
  }
  return out;
}

/** Run `action` on submit, disabling the form meanwhile and showing errors in `out`. */
export function onSubmit(form, out, action) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const controls = [...form.elements];
    controls.forEach((el) => { el.disabled = true; });
    if (out) put(out);
    try {
      await action(values(form), event);
    } catch (err) {
      if (out) showError(out, err);
      else throw err;
    } finally {
      controls.forEach((el) => { el.disabled = false; });
    }
  });
  return form;
}

export function time(ts) {
  if (ts === null || ts === undefined) return '—';
  return new Date(ts * 1000).toLocaleTimeString([], { hour12: false });
}

/** `ts` as "YYYY-MM-DD HH:MM:SS", in the browser's time zone or in `timeZone` (an IANA name). */
export function dateTime(ts, timeZone = undefined) {
  if (ts === null || ts === undefined) return '—';
  const d = new Date(ts * 1000);
  if (timeZone) {
    return new Intl.DateTimeFormat('sv-SE', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit',
      hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(d);
  }
  return `${d.toISOString().slice(0, 10)} ${d.toLocaleTimeString([], { hour12: false })}`;
}

export function duration(seconds) {
  const s = Math.max(0, Math.round(seconds || 0));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${s % 60} s` : `${s} s`;
}

/** Copy text to the clipboard where allowed; otherwise select it in `fallback` for Ctrl+C. */
export async function copyText(text, fallback) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (fallback) {
      fallback.value = text;
      fallback.focus();
      fallback.select();
    }
    return false;
  }
}
