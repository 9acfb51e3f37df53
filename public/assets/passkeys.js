// public/assets/passkeys.js
// Passkey buttons: passwordless sign-in, the second-factor step, and adding a passkey. Served from
// this origin with Subresource Integrity after @simplewebauthn/browser's bundle (the global
// SimpleWebAuthnBrowser); no inline script anywhere. Buttons stay hidden where WebAuthn is missing
// or scripts are off, and every other way in works without this file.
/* global SimpleWebAuthnBrowser, document, window, fetch */

(function passkeys() {
  'use strict';

  var webauthn = typeof SimpleWebAuthnBrowser === 'undefined' ? undefined : SimpleWebAuthnBrowser;

  // Each flow: where the options come from, where the browser's answer goes, and what it carries.
  var flows = {
    'sign-in': { options: '/api/v1/auth/passkey/options', verify: '/api/v1/auth/passkey', kind: 'get' },
    'second-factor': { options: '/api/v1/auth/mfa/passkey/options', verify: '/api/v1/auth/mfa/passkey', kind: 'get' },
    register: { options: '/api/v1/me/mfa/passkeys/registration-options', verify: '/api/v1/me/mfa/passkeys', kind: 'create' },
  };

  function flowFor(name) {
    if (name === 'sign-in') return flows['sign-in'];
    if (name === 'second-factor') return flows['second-factor'];
    if (name === 'register') return flows.register;
    return undefined;
  }

  function say(element, message) {
    var status = document.getElementById(element.getAttribute('data-status') || '');
    if (status) status.textContent = message;
  }

  async function call(url, body) {
    var response = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body === undefined ? {} : body),
    });
    var data = await response.json().catch(function noJson() {
      return null;
    });
    if (!response.ok) {
      var error = new Error((data && data.error && data.error.message) || 'Something went wrong. Try again.');
      error.code = data && data.error ? data.error.code : 'UNKNOWN';
      throw error;
    }
    return data;
  }

  function nameField(element) {
    var id = element.getAttribute('data-name-field');
    var field = id ? document.getElementById(id) : null;
    return field && field.value ? field.value : undefined;
  }

  async function run(element) {
    var flow = flowFor(element.getAttribute('data-passkey'));
    if (!flow || !webauthn) return;
    element.disabled = true;
    say(element, 'Waiting for your passkey…');
    try {
      var started = await call(flow.options);
      var credential = flow.kind === 'create'
        ? await webauthn.startRegistration({ optionsJSON: started.options })
        : await webauthn.startAuthentication({ optionsJSON: started.options });
      var body = flow.kind === 'create' ? { name: nameField(element), credential: credential } : { credential: credential };
      var done = await call(flow.verify, body);
      say(element, 'Done.');
      var next = element.getAttribute('data-return') || '/account';
      if (flow.kind === 'create') next = done.recoveryCodes && done.recoveryCodes.length > 0 ? '/account/mfa/recovery-codes' : '/account/mfa';
      window.location.assign(next);
    } catch (error) {
      if (error && error.code === 'REAUTHENTICATION_REQUIRED') {
        window.location.assign('/reauthenticate?return=' + encodeURIComponent(window.location.pathname));
        return;
      }
      if (error && error.code === 'SECOND_FACTOR_REQUIRED') {
        window.location.assign('/second-factor?return=' + encodeURIComponent(window.location.pathname));
        return;
      }
      // The browser's own refusals (cancelled, timed out) come as DOMExceptions with a name.
      var cancelled = error && (error.name === 'NotAllowedError' || error.name === 'AbortError');
      say(element, cancelled ? 'No passkey was used. Try again when ready.' : error && error.code ? error.message : 'The passkey could not be used. Try again.');
      element.disabled = false;
    }
  }

  function start() {
    if (!webauthn || !webauthn.browserSupportsWebAuthn()) return;
    document.querySelectorAll('[data-passkey]').forEach(function show(element) {
      element.hidden = false;
      element.addEventListener('click', function onClick(event) {
        event.preventDefault();
        void run(element);
      });
    });
    document.querySelectorAll('[data-passkey-show]').forEach(function reveal(block) {
      block.hidden = false;
    });
    document.querySelectorAll('[data-passkey-note]').forEach(function hide(note) {
      note.hidden = true;
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
