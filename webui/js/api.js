/**
 * The appliance's HTTP and WebSocket APIs as the three web clients use them. Every API error
 * is {error: {code, message}} (appliance/http.py); callers show `message`. Sessions are
 * first-party cookies (SameSite=Lax, HttpOnly), so nothing here needs third-party cookies or
 * pop-ups (S9).
 */

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** Call a JSON API: `api('/api/cloud/me')`, `api(path, {method: 'POST', body})`; `raw` sends a
 * file's text as it is (the server, not the browser, judges it). */
export async function api(path, { method = 'GET', body, raw } = {}) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (raw !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = raw;
  } else if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'unreachable', `The appliance cannot be reached (${err.message}).`);
  }
  let data = null;
  try {
    data = await response.json();
  } catch {
    data = null;
  }
  if (!response.ok) {
    const error = data && data.error;
    throw new ApiError(response.status, (error && error.code) || 'http_error',
      (error && error.message) || `${response.status} ${response.statusText}`);
  }
  return data;
}

/** The wss:// URL of an API path on this appliance. */
export function wsUrl(path) {
  return `${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`;
}

/**
 * A WebSocket that reconnects after a drop until closed: `onJson(message)` for text frames,
 * `onBinary(ArrayBuffer)` for binary ones, `onOpen()` after each (re)connection.
 */
export class LiveSocket {
  constructor(path, { onJson, onBinary, onOpen, onDown, retryMs = 2000 } = {}) {
    Object.assign(this, { path, onJson, onBinary, onOpen, onDown, retryMs });
    this.closed = false;
    this.connect();
  }

  connect() {
    const ws = new WebSocket(wsUrl(this.path));
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.onOpen && this.onOpen();
    ws.onmessage = (event) => {
      if (typeof event.data === 'string') {
        if (this.onJson) this.onJson(JSON.parse(event.data));
      } else if (this.onBinary) {
        this.onBinary(event.data);
      }
    };
    ws.onclose = () => {
      if (this.closed) return;
      if (this.onDown) this.onDown();
      this.timer = setTimeout(() => this.connect(), this.retryMs);
    };
    this.ws = ws;
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.ws) this.ws.close();
  }
}

/**
 * Lab time as the browser sees it: the browser's clock plus the lab's time-travel offset,
 * published by /healthz (docs/decisions.md, "Web client"). A wrong browser clock is not
 * corrected here, on purpose: S1 must still see it.
 */
export const labClock = {
  offset: 0,
  async sync() {
    const health = await api('/healthz');
    this.offset = Number(health.clock_offset) || 0;
    return this.offset;
  },
  now() {
    return Date.now() / 1000 + this.offset;
  },
  /** Lab time of a performance.now()-based timestamp (ms), e.g. a frame's display time. */
  atPerformance(ms) {
    return (performance.timeOrigin + ms) / 1000 + this.offset;
  },
};
