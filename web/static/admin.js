// Pulse admin panel: webhooks, media and API tokens, over the admin API.
// Plain JavaScript, no build step. Every piece of user-provided text goes
// into the page as text (textContent, text nodes, input values), never as
// HTML.
'use strict';

(() => {
  const cfg = JSON.parse(document.getElementById('admin-config').textContent);
  const $ = (id) => document.getElementById(id);

  // el builds an element; children that are not nodes become text nodes.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      e.append(c instanceof Node ? c : String(c));
    }
    return e;
  }

  function flash(msg, bad) {
    const f = $('flash');
    f.textContent = msg;
    f.classList.toggle('bad', !!bad);
  }

  // api calls the admin API and returns {ok, status, data}. A 401 means the
  // session ended: back to the sign-in page.
  async function api(method, path, body) {
    const opts = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
    if (body !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      return { ok: false, status: 0, data: { error: { code: 'network', message: 'the server could not be reached: ' + e.message } } };
    }
    if (res.status === 401) {
      location.assign('/admin/login?next=' + encodeURIComponent(location.pathname + location.hash));
      return new Promise(() => {});
    }
    let data = null;
    if (res.status !== 204) {
      try { data = await res.json(); } catch { data = null; }
    }
    if (!res.ok && !(data && data.error)) {
      data = { error: { code: 'http', message: 'HTTP ' + res.status + ' ' + res.statusText } };
    }
    return { ok: res.ok, status: res.status, data };
  }

  function errorMessage(r) {
    return (r.data && r.data.error && r.data.error.message) || 'HTTP ' + r.status;
  }

  // ---- formatting ----

  function clock(seconds) {
    if (!isFinite(seconds) || seconds <= 0) return '–';
    const s = Math.round(seconds);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    const mm = h ? String(m).padStart(2, '0') : String(m);
    return (h ? h + ':' : '') + mm + ':' + String(r).padStart(2, '0');
  }

  function size(n) {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let i = 0;
    while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1).replace(/\.0$/, '') : n) + ' ' + units[i];
  }

  function when(iso) {
    if (!iso) return 'never';
    const d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString();
  }

  async function copy(text, textarea, status) {
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // Not a secure context, or no permission: select and copy.
      if (textarea) { textarea.focus(); textarea.select(); }
      try { document.execCommand('copy'); } catch { /* the text stays selected */ }
    }
    if (status) {
      status.textContent = 'Copied.';
      setTimeout(() => { status.textContent = ''; }, 2500);
    }
  }

  // ---- state ----

  let webhooks = [];
  let media = [];

  // ---- webhooks ----

  const whFields = ['name', 'url', 'request_field', 'response_field', 'rpm', 'active', 'events', 'require_param', 'require_signed_link', 'scope'];
  let editing = null; // the webhook being edited, or null for a new one

  // isLoopback says whether browsers let an https page send http:// requests
  // to host (a URL's hostname, which the URL parser has already normalised:
  // 127.1 becomes 127.0.0.1): loopback addresses and localhost names are
  // potentially trustworthy, so not mixed content
  // (https://w3c.github.io/webappsec-secure-contexts/#is-origin-trustworthy).
  // 127.0.0.1.evil.example is a name, not a loopback address.
  function isLoopback(host) {
    const h = host.replace(/\.$/, '');
    return h === 'localhost' || h.endsWith('.localhost') || h === '[::1]' ||
      /^127\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)\.(25[0-5]|2[0-4]\d|1?\d?\d)$/.test(h);
  }

  function mixedContentWarning(url) {
    try {
      const u = new URL(url);
      if (u.protocol === 'http:' && !isLoopback(u.hostname)) {
        return 'Browsers block http:// requests from a player served over https (mixed content): use https://';
      }
    } catch { /* not a URL yet */ }
    return '';
  }

  function mediaTitle(uuid) {
    const m = media.find((x) => x.uuid === uuid);
    return m ? m.title : 'deleted media ' + uuid.slice(0, 8);
  }

  function renderWebhooks() {
    const body = $('wh-table').tBodies[0];
    body.replaceChildren();
    $('wh-empty').hidden = webhooks.length > 0;
    $('wh-table').hidden = webhooks.length === 0;
    $('wh-count').textContent = webhooks.length + ' of at most ' + cfg.max_webhooks;
    for (const h of webhooks) {
      const result = el('p', { class: 'test-result', role: 'status', 'aria-live': 'polite' });
      const scope = h.scope === 'all' ? 'All media' : h.scope.map(mediaTitle).join(', ');
      const toggle = el('button', {
        type: 'button', class: 'toggle', 'aria-pressed': String(h.active),
        'aria-label': (h.active ? 'Deactivate ' : 'Activate ') + (h.name || h.url),
        onclick: () => setActive(h, !h.active),
      }, h.active ? 'On' : 'Off');
      const row = el('tr', { 'data-id': h.id },
        el('td', {},
          h.name ? el('strong', {}, h.name) : null,
          el('div', { class: 'url' }, h.url),
          (h.warnings || []).map((w) => el('p', { class: 'warning' }, w))),
        el('td', {}, el('code', {}, h.request_field), ' → ', el('code', {}, h.response_field),
          el('div', { class: 'muted' }, h.events ? 'events on' : 'heartbeats only (seed mode)'),
          h.require_param ? el('div', { class: 'muted' }, 'only when the URL has ' + h.request_field) : null,
          h.require_signed_link ? el('div', { class: 'muted' }, 'only from signed links') : null),
        el('td', {}, String(h.rpm)),
        el('td', {}, scope),
        el('td', {}, toggle),
        el('td', { class: 'actions-cell' },
          el('button', { type: 'button', onclick: () => openForm(h) }, 'Edit'),
          el('button', { type: 'button', class: 'test', onclick: () => testHeartbeat(h, result) }, 'Send test heartbeat'),
          el('button', { type: 'button', class: 'danger', onclick: () => deleteWebhook(h) }, 'Delete'),
          result));
      body.append(row);
    }
  }

  async function loadWebhooks() {
    const r = await api('GET', '/api/admin/webhooks');
    if (!r.ok) return flash('Could not load webhooks: ' + errorMessage(r), true);
    webhooks = r.data.webhooks;
    if (r.data.limit) cfg.max_webhooks = r.data.limit;
    renderWebhooks();
  }

  function clearErrors() {
    $('wh-form-error').textContent = '';
    for (const f of whFields) {
      const e = $('wh-' + f + '-error');
      if (e) e.textContent = '';
      const input = $('wh-' + f);
      if (input) input.removeAttribute('aria-invalid');
    }
  }

  function renderScopeChoices(selected) {
    const box = $('wh-scope-media');
    box.replaceChildren();
    const ids = new Set(selected);
    const all = media.map((m) => ({ uuid: m.uuid, title: m.title }));
    for (const id of selected) {
      if (!all.some((m) => m.uuid === id)) all.push({ uuid: id, title: mediaTitle(id) });
    }
    if (all.length === 0) box.append(el('span', { class: 'muted' }, 'No media yet.'));
    for (const m of all) {
      box.append(el('label', {}, el('input', { type: 'checkbox', value: m.uuid, checked: ids.has(m.uuid) }), ' ', m.title));
    }
  }

  function openForm(h) {
    editing = h || null;
    const w = h || { name: '', url: '', request_field: '', response_field: '', rpm: 2, active: true, events: true, require_param: false, require_signed_link: false, scope: 'all' };
    $('wh-form-title').textContent = h ? 'Edit webhook' : 'New webhook';
    for (const f of ['name', 'url', 'request_field', 'response_field']) $('wh-' + f).value = w[f];
    $('wh-rpm').value = String(w.rpm);
    for (const f of ['active', 'events', 'require_param', 'require_signed_link']) $('wh-' + f).checked = !!w[f];
    const some = w.scope !== 'all';
    $('wh-scope-all').checked = !some;
    $('wh-scope-some').checked = some;
    renderScopeChoices(some ? w.scope : []);
    clearErrors();
    $('wh-url-warning').textContent = mixedContentWarning(w.url);
    $('wh-form').hidden = false;
    $('wh-url').focus();
  }

  function closeForm() {
    $('wh-form').hidden = true;
    editing = null;
  }

  function formBody() {
    const rpm = $('wh-rpm').value.trim();
    const body = {
      name: $('wh-name').value,
      url: $('wh-url').value.trim(),
      request_field: $('wh-request_field').value.trim(),
      response_field: $('wh-response_field').value.trim(),
      // A number when it is one; otherwise as typed, so that the API
      // explains what is wrong with it.
      rpm: /^-?\d+$/.test(rpm) ? Number(rpm) : rpm,
      active: $('wh-active').checked,
      events: $('wh-events').checked,
      require_param: $('wh-require_param').checked,
      require_signed_link: $('wh-require_signed_link').checked,
    };
    if ($('wh-scope-some').checked) {
      body.scope = [...$('wh-scope-media').querySelectorAll('input:checked')].map((i) => i.value);
    } else {
      body.scope = 'all';
    }
    return body;
  }

  function showFieldError(err) {
    const field = err.field || '';
    const slot = $('wh-' + field + '-error');
    if (slot) {
      slot.textContent = err.message;
      const input = $('wh-' + field) || (field === 'scope' ? $('wh-scope-some') : null);
      if (input) {
        input.setAttribute('aria-invalid', 'true');
        input.focus();
      }
    } else {
      $('wh-form-error').textContent = (field ? field + ': ' : '') + err.message;
    }
  }

  async function saveWebhook(ev) {
    ev.preventDefault();
    clearErrors();
    const body = formBody();
    if (Array.isArray(body.scope) && body.scope.length === 0) {
      return showFieldError({ field: 'scope', message: 'choose at least one media, or "All media"' });
    }
    $('wh-save').disabled = true;
    const r = editing
      ? await api('PUT', '/api/admin/webhooks/' + encodeURIComponent(editing.id), body)
      : await api('POST', '/api/admin/webhooks', body);
    $('wh-save').disabled = false;
    if (!r.ok) return showFieldError(r.data.error);
    const saved = r.data;
    closeForm();
    const origin = new URL(saved.url).origin;
    if (!cfg.connect_origins.includes(origin)) {
      // The page's Content-Security-Policy lists the webhook origins it may
      // send test heartbeats to: reload to get one that includes this one.
      sessionStorage.setItem('pulse-flash', 'Saved webhook ' + (saved.name || saved.url) + '.');
      location.reload();
      return;
    }
    flash('Saved webhook ' + (saved.name || saved.url) + '.' + (saved.warnings.length ? ' Warning: ' + saved.warnings.join(' ') : ''));
    await loadWebhooks();
  }

  async function setActive(h, active) {
    const r = await api('POST', '/api/admin/webhooks/' + encodeURIComponent(h.id) + (active ? '/activate' : '/deactivate'));
    if (!r.ok) return flash('Could not switch the webhook: ' + errorMessage(r), true);
    flash((active ? 'Activated ' : 'Deactivated ') + (h.name || h.url) + '.');
    await loadWebhooks();
  }

  async function deleteWebhook(h) {
    if (!confirm('Delete the webhook to ' + h.url + '? Players stop sending to it within a minute.')) return;
    const r = await api('DELETE', '/api/admin/webhooks/' + encodeURIComponent(h.id));
    if (!r.ok) return flash('Could not delete the webhook: ' + errorMessage(r), true);
    flash('Deleted the webhook to ' + h.url + '.');
    await loadWebhooks();
  }

  // samplePayload is what a player would send (PROTOCOL.md §3), marked as a
  // test by its value and session.
  function samplePayload(h) {
    const inScope = h.scope === 'all' ? media[0] : media.find((m) => h.scope.includes(m.uuid));
    const uuid = inScope ? inScope.uuid : 'pulse-test';
    const fd = new FormData();
    fd.append('uuid', uuid);
    fd.append('position', '12.5');
    fd.append(h.response_field, 'pulse-test');
    if (h.events) {
      fd.append('event', 'heartbeat');
      if (inScope && inScope.duration > 0) fd.append('duration', String(Math.round(inScope.duration * 1000) / 1000));
      fd.append('session', 'pulse-test-' + Math.random().toString(36).slice(2, 14));
      fd.append('seq', '1');
      fd.append('watched', '12.5');
      if (inScope && inScope.duration > 0) fd.append('progress', String(Math.round(12.5 / inScope.duration * 10000) / 10000));
    }
    return fd;
  }

  // testHeartbeat posts a sample payload from this browser, as a player
  // would (a CORS simple request, no credentials), and tells apart: it
  // arrived and CORS was answered; it arrived but CORS was not answered (the
  // cors request fails, a no-cors one gets an opaque answer); unreachable
  // (both fail).
  async function testHeartbeat(h, out) {
    const origin = new URL(h.url).origin;
    if (!cfg.connect_origins.includes(origin)) {
      // The server lists the origins of the webhooks that existed when
      // it sent this page: reload once to get a new one. If the origin
      // is still missing after that, the server cannot allow it (it
      // writes origins as browsers do, so this is a URL it cannot put in
      // a Content-Security-Policy): say so rather than reload forever.
      if (sessionStorage.getItem('pulse-reloaded-for') === origin) {
        sessionStorage.removeItem('pulse-reloaded-for');
        out.className = 'test-result error';
        out.textContent = 'Cannot test from this page: the panel is not allowed to contact ' + origin +
          ' (the server cannot list that address in the page\'s Content-Security-Policy). Players can still send to it.';
        return;
      }
      sessionStorage.setItem('pulse-reloaded-for', origin);
      sessionStorage.setItem('pulse-flash', 'Reloaded the panel so that it may contact ' + origin + ': press "Send test heartbeat" again.');
      location.reload();
      return;
    }
    sessionStorage.removeItem('pulse-reloaded-for');
    out.className = 'test-result';
    out.textContent = 'Sending a test heartbeat…';
    const opts = () => ({ method: 'POST', body: samplePayload(h), credentials: 'omit', cache: 'no-store', signal: AbortSignal.timeout(10000) });
    try {
      const res = await fetch(h.url, { ...opts(), mode: 'cors' });
      out.className = 'test-result ' + (res.ok ? 'ok' : 'warning');
      out.textContent = 'Arrived: HTTP ' + res.status + (res.statusText ? ' ' + res.statusText : '') + '. CORS answered: ' +
        'the endpoint allows requests from ' + location.origin + '.' +
        (res.ok ? '' : ' The endpoint refused the heartbeat: players would ' + (res.status === 429 || res.status >= 500 ? 'retry it.' : 'not retry it.'));
      return;
    } catch (e) {
      if (e.name === 'TimeoutError') {
        out.className = 'test-result error';
        out.textContent = 'No answer within 10 seconds: the endpoint is too slow or unreachable.';
        return;
      }
    }
    try {
      await fetch(h.url, { ...opts(), mode: 'no-cors' });
      out.className = 'test-result warning';
      out.textContent = 'Arrived, but CORS was not answered: the endpoint replied without an Access-Control-Allow-Origin header ' +
        'that allows ' + location.origin + '. The heartbeat reaches it, but browsers hide the answer from players, which count ' +
        'every send as failed. Answer with Access-Control-Allow-Origin: * (this check sent a second test heartbeat).';
    } catch (e) {
      out.className = 'test-result error';
      let why = 'the connection failed (wrong host or port, server down, TLS error)';
      if (location.protocol === 'https:' && h.url.startsWith('http:')) why = 'this page is https and the URL is http://: browsers block it as mixed content';
      if (e.name === 'TimeoutError') why = 'no answer within 10 seconds';
      out.textContent = 'Unreachable: ' + why + '. Nothing arrived.';
    }
  }

  $('wh-new').addEventListener('click', () => openForm(null));
  $('wh-cancel').addEventListener('click', closeForm);
  $('wh-form').addEventListener('submit', saveWebhook);
  $('wh-url').addEventListener('input', () => { $('wh-url-warning').textContent = mixedContentWarning($('wh-url').value.trim()); });
  $('wh-scope-media').addEventListener('change', () => { $('wh-scope-some').checked = true; });

  // ---- media ----

  let embedFor = null;

  function renderMedia() {
    const body = $('media-table').tBodies[0];
    body.replaceChildren();
    $('media-empty').hidden = media.length > 0;
    $('media-table').hidden = media.length === 0;
    $('media-count').textContent = media.length === 1 ? '1 file' : media.length + ' files';
    for (const m of media) {
      const titleCell = el('td', {}, el('a', { href: m.player_url, target: '_blank', rel: 'noopener' }, m.title));
      const row = el('tr', { 'data-uuid': m.uuid },
        titleCell,
        el('td', {}, m.type),
        el('td', {}, clock(m.duration)),
        el('td', {}, size(m.size)),
        el('td', {}, when(m.created_at)),
        el('td', { class: 'actions-cell' },
          el('a', { href: m.player_url, target: '_blank', rel: 'noopener', class: 'player-link' }, 'Player'), ' ',
          el('button', { type: 'button', onclick: () => openEmbed(m) }, 'Embed'),
          el('button', { type: 'button', onclick: () => rename(m, titleCell) }, 'Rename'),
          el('button', { type: 'button', class: 'danger', onclick: () => deleteMedia(m) }, 'Delete')));
      body.append(row);
    }
  }

  async function loadMedia() {
    const r = await api('GET', '/api/admin/media');
    if (!r.ok) return flash('Could not load media: ' + errorMessage(r), true);
    media = r.data.media;
    if (r.data.max_upload) cfg.max_upload = r.data.max_upload;
    renderMedia();
  }

  function rename(m, cell) {
    const input = el('input', { value: m.title, maxlength: 200, 'aria-label': 'New title' });
    const err = el('p', { class: 'error' });
    const save = async (ev) => {
      ev.preventDefault();
      const r = await api('PATCH', '/api/admin/media/' + encodeURIComponent(m.uuid), { title: input.value });
      if (!r.ok) { err.textContent = errorMessage(r); input.setAttribute('aria-invalid', 'true'); return; }
      flash('Renamed to ' + r.data.title + '.');
      await loadMedia();
      renderWebhooks();
    };
    const form = el('form', { onsubmit: save }, input, el('button', { type: 'submit' }, 'Save'),
      el('button', { type: 'button', onclick: () => renderMedia() }, 'Cancel'), err);
    cell.replaceChildren(form);
    input.focus();
    input.select();
  }

  async function deleteMedia(m) {
    if (!confirm('Delete "' + m.title + '" and its file? Players and embeds of it stop working.')) return;
    const r = await api('DELETE', '/api/admin/media/' + encodeURIComponent(m.uuid));
    if (!r.ok) return flash('Could not delete: ' + errorMessage(r), true);
    flash('Deleted "' + m.title + '".');
    if (embedFor && embedFor.uuid === m.uuid) $('embed').hidden = true;
    await loadMedia();
    renderWebhooks();
  }

  // Upload with a progress bar: XMLHttpRequest reports upload progress,
  // fetch does not.
  let upload = null;

  function startUpload(ev) {
    ev.preventDefault();
    const file = $('upload-file').files[0];
    const status = $('upload-status');
    status.className = '';
    if (!file) { status.className = 'error'; status.textContent = 'Choose a file first.'; return; }
    if (file.size > cfg.max_upload) {
      status.className = 'error';
      status.textContent = 'This file is ' + size(file.size) + ': the upload limit is ' + size(cfg.max_upload) + '.';
      return;
    }
    const fd = new FormData();
    const title = $('upload-title').value.trim();
    if (title) fd.append('title', title);
    fd.append('file', file);
    const xhr = new XMLHttpRequest();
    upload = xhr;
    const progress = $('upload-progress');
    progress.hidden = false;
    progress.value = 0;
    $('upload-submit').disabled = true;
    $('upload-cancel').hidden = false;
    status.textContent = 'Uploading ' + file.name + '…';
    xhr.upload.addEventListener('progress', (e) => {
      if (!e.lengthComputable) return;
      progress.value = Math.round((e.loaded / e.total) * 100);
      status.textContent = 'Uploading ' + file.name + ': ' + progress.value + '% of ' + size(e.total);
      if (e.loaded === e.total) status.textContent = 'Checking ' + file.name + '…';
    });
    const done = () => {
      upload = null;
      $('upload-submit').disabled = false;
      $('upload-cancel').hidden = true;
    };
    xhr.addEventListener('load', async () => {
      done();
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 401) { location.assign('/admin/login?next=/admin%23media'); return; }
      if (xhr.status === 201 && data) {
        progress.value = 100;
        status.className = 'ok';
        status.textContent = 'Uploaded "' + data.title + '" (' + data.type + (data.duration ? ', ' + clock(data.duration) : '') + ').';
        $('upload-form').reset();
        await loadMedia();
        return;
      }
      progress.hidden = true;
      status.className = 'error';
      status.textContent = 'Upload refused: ' + ((data && data.error && data.error.message) || 'HTTP ' + xhr.status);
    });
    xhr.addEventListener('error', () => {
      done();
      progress.hidden = true;
      status.className = 'error';
      status.textContent = 'The upload failed: the connection to the server was lost.';
    });
    xhr.addEventListener('abort', () => {
      done();
      progress.hidden = true;
      status.textContent = 'Upload cancelled: nothing was stored.';
    });
    xhr.open('POST', '/api/admin/media');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.send(fd);
  }

  $('upload-form').addEventListener('submit', startUpload);
  $('upload-cancel').addEventListener('click', () => { if (upload) upload.abort(); });

  // ---- embed snippet ----

  function attr(s) {
    return String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  }

  // parseStart reads "90", "1:30", "1:02:03" or "1m30s" as seconds, as
  // the player reads t= (wasm/ui ParseTime).
  function parseStart(s) {
    s = s.trim().toLowerCase();
    if (s === '') return 0;
    if (/^\d+(:\d{1,2}){0,2}(\.\d+)?$/.test(s)) return s.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
    const u = /^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$/.exec(s);
    if (!u || !(u[1] || u[2] || u[3])) return NaN;
    return Number(u[1] || 0) * 3600 + Number(u[2] || 0) * 60 + Number(u[3] || 0);
  }

  function openEmbed(m) {
    embedFor = m;
    $('embed-title').textContent = '"' + m.title + '"';
    $('embed-height').value = m.type.startsWith('video/') ? '360' : '200';
    const fields = [];
    for (const h of webhooks) {
      if (h.active && (h.scope === 'all' || h.scope.includes(m.uuid)) && !fields.includes(h.request_field)) fields.push(h.request_field);
    }
    $('embed-params').value = fields.map((f) => f + '=' + f.toUpperCase().replace(/[^A-Z0-9]/g, '_')).join('&');
    $('embed').hidden = false;
    updateEmbed();
    $('embed').scrollIntoView({ block: 'nearest' });
  }

  function updateEmbed() {
    const m = embedFor;
    if (!m) return;
    const err = $('embed-error');
    err.textContent = '';
    const w = $('embed-width').value.trim() || '640';
    const h = $('embed-height').value.trim() || '200';
    if (!/^\d{1,5}%?$/.test(w) || !/^\d{1,5}%?$/.test(h)) err.textContent = 'Width and height are numbers of pixels (or percentages).';
    const start = parseStart($('embed-start').value);
    if (isNaN(start)) err.textContent = 'Start at: write seconds (90), minutes and seconds (1:30) or 1m30s.';
    const url = new URL(m.player_url);
    for (const [k, v] of new URLSearchParams($('embed-params').value.trim().replace(/^\?/, ''))) url.searchParams.append(k, v);
    if (start > 0) url.searchParams.set('t', String(start));
    if ($('embed-autoplay').checked) url.searchParams.set('autoplay', '1');
    if ($('embed-muted').checked) url.searchParams.set('muted', '1');
    if ($('embed-loop').checked) url.searchParams.set('loop', '1');
    $('embed-code').value = '<iframe src="' + attr(url.href) + '" width="' + attr(w) + '" height="' + attr(h) +
      '" title="' + attr(m.title) + '" allow="autoplay; fullscreen" style="border:0"></iframe>';
    $('embed-open').href = url.href;
  }

  for (const id of ['embed-width', 'embed-height', 'embed-start', 'embed-params']) $(id).addEventListener('input', updateEmbed);
  for (const id of ['embed-autoplay', 'embed-muted', 'embed-loop']) $(id).addEventListener('change', updateEmbed);
  $('embed-copy').addEventListener('click', () => copy($('embed-code').value, $('embed-code'), $('embed-copied')));
  $('embed-close').addEventListener('click', () => { $('embed').hidden = true; embedFor = null; });

  // ---- API tokens ----

  function renderTokens(tokens) {
    const body = $('token-table').tBodies[0];
    body.replaceChildren();
    $('token-empty').hidden = tokens.length > 0;
    $('token-table').hidden = tokens.length === 0;
    for (const t of tokens) {
      body.append(el('tr', { 'data-id': t.id },
        el('td', {}, t.name),
        el('td', {}, el('code', {}, t.prefix + '…')),
        el('td', {}, when(t.created_at)),
        el('td', {}, when(t.last_used_at)),
        el('td', {}, t.revoked_at ? el('span', { class: 'pill' }, 'revoked ' + when(t.revoked_at)) : el('span', { class: 'pill ok' }, 'active')),
        el('td', { class: 'actions-cell' }, t.revoked_at ? null :
          el('button', { type: 'button', class: 'danger', onclick: () => revokeToken(t) }, 'Revoke'))));
    }
  }

  async function loadTokens() {
    const r = await api('GET', '/api/admin/tokens');
    if (!r.ok) return flash('Could not load API tokens: ' + errorMessage(r), true);
    renderTokens(r.data.tokens);
  }

  async function createToken(ev) {
    ev.preventDefault();
    const err = $('token-name-error');
    err.textContent = '';
    $('token-name').removeAttribute('aria-invalid');
    const r = await api('POST', '/api/admin/tokens', { name: $('token-name').value });
    if (!r.ok) {
      err.textContent = errorMessage(r);
      $('token-name').setAttribute('aria-invalid', 'true');
      return;
    }
    $('token-form').reset();
    $('token-secret-value').textContent = r.data.secret;
    $('token-secret').hidden = false;
    await loadTokens();
  }

  async function revokeToken(t) {
    if (!confirm('Revoke the token "' + t.name + '"? Scripts using it stop working at once.')) return;
    const r = await api('DELETE', '/api/admin/tokens/' + encodeURIComponent(t.id));
    if (!r.ok) return flash('Could not revoke: ' + errorMessage(r), true);
    flash('Revoked the token "' + t.name + '".');
    await loadTokens();
  }

  $('token-form').addEventListener('submit', createToken);
  $('token-secret-copy').addEventListener('click', () => copy($('token-secret-value').textContent, null, $('token-copied')));
  $('token-secret-done').addEventListener('click', () => {
    $('token-secret-value').textContent = '';
    $('token-secret').hidden = true;
  });

  // ---- embed keys ----

  function renderEmbedKeys(keys) {
    const body = $('ek-table').tBodies[0];
    body.replaceChildren();
    $('ek-empty').hidden = keys.length > 0;
    $('ek-table').hidden = keys.length === 0;
    for (const k of keys) {
      body.append(el('tr', { 'data-id': k.id },
        el('td', {}, k.name),
        el('td', {}, el('code', {}, k.id)),
        el('td', {}, when(k.created_at)),
        el('td', {}, k.revoked_at ? el('span', { class: 'pill' }, 'revoked ' + when(k.revoked_at)) : el('span', { class: 'pill ok' }, 'active')),
        el('td', { class: 'actions-cell' }, k.revoked_at ? null :
          el('button', { type: 'button', class: 'danger', onclick: () => revokeEmbedKey(k) }, 'Revoke'))));
    }
  }

  async function loadEmbedKeys() {
    const r = await api('GET', '/api/admin/embed-keys');
    if (!r.ok) return flash('Could not load embed keys: ' + errorMessage(r), true);
    renderEmbedKeys(r.data.embed_keys);
  }

  async function createEmbedKey(ev) {
    ev.preventDefault();
    const err = $('ek-name-error');
    err.textContent = '';
    $('ek-name').removeAttribute('aria-invalid');
    const r = await api('POST', '/api/admin/embed-keys', { name: $('ek-name').value });
    if (!r.ok) {
      err.textContent = errorMessage(r);
      $('ek-name').setAttribute('aria-invalid', 'true');
      return;
    }
    $('ek-form').reset();
    $('ek-secret-kid').textContent = r.data.embed_key.id;
    $('ek-secret-value').textContent = r.data.secret;
    $('ek-secret').hidden = false;
    await loadEmbedKeys();
  }

  async function revokeEmbedKey(k) {
    if (!confirm('Revoke the embed key "' + k.name + '"? Links signed with it stop opening the player at once.')) return;
    const r = await api('DELETE', '/api/admin/embed-keys/' + encodeURIComponent(k.id));
    if (!r.ok) return flash('Could not revoke: ' + errorMessage(r), true);
    flash('Revoked the embed key "' + k.name + '".');
    await loadEmbedKeys();
  }

  $('ek-form').addEventListener('submit', createEmbedKey);
  $('ek-secret-copy').addEventListener('click', () => copy($('ek-secret-value').textContent, null, $('ek-copied')));
  $('ek-secret-done').addEventListener('click', () => {
    $('ek-secret-value').textContent = '';
    $('ek-secret-kid').textContent = '';
    $('ek-secret').hidden = true;
  });

  // ---- start ----

  const saved = sessionStorage.getItem('pulse-flash');
  if (saved) {
    sessionStorage.removeItem('pulse-flash');
    flash(saved);
  }
  (async () => {
    await loadMedia();
    await loadWebhooks();
    await loadTokens();
    await loadEmbedKeys();
    document.body.dataset.ready = 'true';
  })();
})();
