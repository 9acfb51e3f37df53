// src/check/https.ts
// Practice 9 (HTTPS only), seen from outside: HTTPS answers, plain HTTP only redirects to it, old
// TLS versions and weak TLS 1.2 suites are refused, the certificate verifies for the host and is not
// about to expire, and HSTS is on. The bar is the listener's own: src/security/https.ts and headers.ts.

import { checkServerIdentity } from 'node:tls';
import { expectedHeaderRules, minimumHstsMaxAgeSeconds } from '../security/headers.js';
import { acceptedRedirectStatuses, legacyTlsVersions, minimumTlsVersion, tls12Ciphers } from '../security/https.js';
import { headerValue, snippet, type UrlCheckContext, type UrlCheckGroup } from './context.js';
import { fail, notChecked, pass, warn, type CheckDefinition, type Finding } from './finding.js';
import { bareHost, defaultPort, handshake, type HandshakeResult } from './net.js';

export const httpsChecks = {
  available: { practice: 9, id: 'https-available', title: 'The site answers over HTTPS', severity: 'high' },
  redirect: { practice: 9, id: 'http-redirect', title: 'Plain HTTP only redirects to HTTPS on the same host (301/308)', severity: 'high' },
  legacyTls: { practice: 9, id: 'tls-legacy-versions', title: 'TLS 1.0 and 1.1 are refused', severity: 'high' },
  weakSuites: { practice: 9, id: 'tls-weak-suites', title: 'TLS 1.2 offers only forward-secret AEAD cipher suites', severity: 'low' },
  trusted: { practice: 9, id: 'tls-certificate-trusted', title: 'The certificate verifies and is valid for the host', severity: 'high' },
  expiry: { practice: 9, id: 'tls-certificate-expiry', title: 'The certificate does not expire within 14 days', severity: 'medium' },
  hsts: { practice: 9, id: 'hsts', title: `HSTS with max-age of at least ${minimumHstsMaxAgeSeconds} s and includeSubDomains`, severity: 'medium' },
} as const satisfies Record<string, CheckDefinition>;

/** Days before expiry at which a certificate counts as about to lapse. */
export const certificateExpiryWarningDays = 14;

/**
 * TLS 1.2 suites without forward secrecy or without AEAD (CBC): what a client offers to see whether
 * the server still accepts any of them. The listener's own list (tls12Ciphers) has none.
 */
export const weakTls12Suites = [
  'ECDHE-ECDSA-AES128-SHA256',
  'ECDHE-RSA-AES128-SHA256',
  'ECDHE-ECDSA-AES256-SHA384',
  'ECDHE-RSA-AES256-SHA384',
  'ECDHE-ECDSA-AES128-SHA',
  'ECDHE-RSA-AES128-SHA',
  'ECDHE-ECDSA-AES256-SHA',
  'ECDHE-RSA-AES256-SHA',
  'DHE-RSA-AES128-SHA256',
  'DHE-RSA-AES256-SHA256',
  'DHE-RSA-AES128-SHA',
  'DHE-RSA-AES256-SHA',
  'AES128-GCM-SHA256',
  'AES256-GCM-SHA384',
  'AES128-SHA256',
  'AES256-SHA256',
  'AES128-SHA',
  'AES256-SHA',
  'DES-CBC3-SHA',
].filter((suite) => !(tls12Ciphers as readonly string[]).includes(suite));

const hstsRule = expectedHeaderRules.find((rule) => rule.header === 'strict-transport-security');

function redirectFindings(context: UrlCheckContext): Finding {
  const { http } = context.retrieval;
  const httpUrl = context.target.httpUrl;
  const samePort = defaultPort(httpUrl) === defaultPort(context.target.httpsUrl);
  const first = http.exchanges[0];
  if (first === undefined) {
    const why = http.error === undefined ? 'no answer' : `${http.error.code ?? 'error'}: ${http.error.message}`;
    if (samePort) {
      return notChecked(
        httpsChecks.redirect,
        `nothing answered plain HTTP at ${httpUrl.href} (${why}); that port speaks TLS, so where plain HTTP is served is not known`,
        'pass --http-port with the port the plain-HTTP listener uses (80 in production) to check its redirect',
      );
    }
    return pass(httpsChecks.redirect, `nothing answers plain HTTP at ${httpUrl.href} (${why}): no page is ever served unencrypted`);
  }
  const location = headerValue(first.headers, 'location');
  const evidence = `${first.method} ${httpUrl.href} → ${first.status}${location === undefined ? '' : ` Location: ${snippet(location, 120)}`}`;
  if (![301, 302, 303, 307, 308].includes(first.status) || location === undefined) {
    return fail(
      httpsChecks.redirect,
      `${evidence}: the page is served over plain HTTP instead of redirecting`,
      'answer every plain-HTTP request with a 301 (GET/HEAD) or 308 redirect to the same URL on https://, and serve nothing else there',
      { severity: first.status >= 200 && first.status < 300 ? 'high' : 'medium' },
    );
  }
  let destination: URL;
  try {
    destination = new URL(location, httpUrl);
  } catch {
    return fail(httpsChecks.redirect, `${evidence}: the Location cannot be read as a URL`, 'redirect to https:// on the same host', { severity: 'medium' });
  }
  if (destination.protocol !== 'https:') {
    return fail(httpsChecks.redirect, `${evidence}: the first redirect stays on plain HTTP`, 'redirect straight to https:// on the same host; browsers only learn HSTS over HTTPS', {
      severity: 'medium',
    });
  }
  if (destination.hostname !== httpUrl.hostname) {
    return warn(
      httpsChecks.redirect,
      `${evidence}: the first redirect leaves the host, so ${httpUrl.hostname} never gets to set HSTS`,
      `redirect to https://${httpUrl.hostname}/ first, then to the other host`,
      { severity: 'low' },
    );
  }
  if (!acceptedRedirectStatuses.includes(first.status)) {
    return warn(
      httpsChecks.redirect,
      `${evidence}: a temporary redirect, which browsers and caches do not remember`,
      `use ${acceptedRedirectStatuses.join(' or ')} (permanent) for the redirect to HTTPS`,
      { severity: 'low' },
    );
  }
  return pass(httpsChecks.redirect, evidence);
}

function describeCertificate(result: Extract<HandshakeResult, { ok: true }>): string {
  const subject = result.certificate?.subject.CN ?? 'no subject CN';
  const issuer = result.certificate?.issuer.CN ?? 'unknown issuer';
  const names = result.certificate?.subjectaltname ?? 'no subjectAltName';
  return `subject ${String(subject)}, issuer ${String(issuer)}, ${names}`;
}

async function tlsFindings(context: UrlCheckContext): Promise<Finding[]> {
  const url = context.target.httpsUrl;
  const host = bareHost(url);
  const port = defaultPort(url);
  const timeoutMs = context.options.timeoutMs;
  const now = context.options.now ?? new Date();
  const [main, weak, ...legacyResults] = await Promise.all([
    handshake({ host, port, servername: host, extraCa: context.options.extraCa, timeoutMs }),
    handshake({ host, port, servername: host, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: `${weakTls12Suites.join(':')}:@SECLEVEL=0`, timeoutMs }),
    // One handshake per old version, each offering every suite this OpenSSL still has (SECLEVEL=0).
    ...legacyTlsVersions.map((version) => handshake({ host, port, servername: host, minVersion: version, maxVersion: version, ciphers: 'DEFAULT@SECLEVEL=0', timeoutMs })),
  ]);
  const findings: Finding[] = [];

  if (!main.ok) {
    const reason = `no TLS handshake with ${host}:${port} (${main.code ?? 'error'}: ${main.message})`;
    findings.push(notChecked(httpsChecks.trusted, reason), notChecked(httpsChecks.expiry, reason));
  } else {
    let identityError: string | undefined;
    if (main.certificate !== undefined) identityError = checkServerIdentity(host, main.certificate)?.message;
    const authorizationError = main.authorizationError ?? identityError;
    if (authorizationError === undefined) {
      findings.push(pass(httpsChecks.trusted, `verified for ${host}: ${describeCertificate(main)}`));
    } else {
      const selfSigned = /SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY/.test(authorizationError);
      findings.push(
        fail(
          httpsChecks.trusted,
          `${authorizationError}: ${describeCertificate(main)}`,
          selfSigned && context.target.loopback
            ? 'a self-signed development certificate is expected here: pass it with --ca FILE to check the rest of the TLS set-up; in production use a certificate from a public CA (for example Let\'s Encrypt through ACME)'
            : 'install a certificate from a public CA (for example Let\'s Encrypt through ACME) whose subjectAltName covers this host, with the full intermediate chain',
        ),
      );
    }
    const validTo = main.certificate === undefined ? Number.NaN : Date.parse(main.certificate.valid_to);
    if (Number.isNaN(validTo)) {
      findings.push(notChecked(httpsChecks.expiry, 'the server sent no readable certificate'));
    } else {
      const daysLeft = Math.floor((validTo - now.getTime()) / 86_400_000);
      const when = new Date(validTo).toISOString().slice(0, 10);
      if (daysLeft < certificateExpiryWarningDays) {
        findings.push(
          fail(httpsChecks.expiry, daysLeft < 0 ? `expired on ${when}` : `expires on ${when}, in ${daysLeft} days`, 'renew the certificate now and automate renewal (ACME renews 30 days ahead)', {
            severity: daysLeft < 0 ? 'high' : 'medium',
          }),
        );
      } else {
        findings.push(pass(httpsChecks.expiry, `valid until ${when} (${daysLeft} days)`));
      }
    }
  }

  const accepted = legacyResults.flatMap((result) => (result.ok ? [`${result.protocol} with ${result.cipher}`] : []));
  // An OpenSSL built without the old versions fails on our side, before anything is sent.
  const unable = legacyResults.flatMap((result) =>
    !result.ok && /no protocols available|unsupported protocol|ERR_SSL_NO_PROTOCOLS_AVAILABLE/i.test(`${result.code ?? ''} ${result.message}`) && !/alert/i.test(result.message) ? [result.message] : [],
  );
  if (accepted.length > 0) {
    findings.push(
      fail(httpsChecks.legacyTls, `handshakes succeeded: ${accepted.join('; ')}`, `accept ${minimumTlsVersion} and TLS 1.3 only (Node.js: minVersion: '${minimumTlsVersion}'; nginx: ssl_protocols TLSv1.2 TLSv1.3)`),
    );
  } else if (unable.length > 0) {
    findings.push(notChecked(httpsChecks.legacyTls, `this machine's OpenSSL cannot offer ${legacyTlsVersions.join('/')} (${unable[0] ?? ''}), so it cannot tell whether the server would accept them`));
  } else if (!main.ok) {
    findings.push(notChecked(httpsChecks.legacyTls, `no TLS handshake with ${host}:${port} at all`));
  } else {
    const reasons = [...new Set(legacyResults.map((result) => (result.ok ? '' : (result.code ?? result.message))))].join(', ');
    findings.push(pass(httpsChecks.legacyTls, `${legacyTlsVersions.join(' and ')} refused (${reasons}); the normal handshake used ${main.protocol}`));
  }

  if (weak.ok) {
    findings.push(
      warn(
        httpsChecks.weakSuites,
        `TLS 1.2 accepted ${weak.cipher}, a suite without forward secrecy or without AEAD`,
        `offer only ECDHE suites with AES-GCM or ChaCha20-Poly1305 in TLS 1.2 (${tls12Ciphers.slice(0, 2).join(', ')}, ...) and TLS 1.3`,
      ),
    );
  } else if (main.ok) {
    findings.push(pass(httpsChecks.weakSuites, `none of ${weakTls12Suites.length} CBC or non-forward-secret TLS 1.2 suites accepted`));
  } else {
    findings.push(notChecked(httpsChecks.weakSuites, `no TLS handshake with ${host}:${port} at all`));
  }
  return findings;
}

function hstsFinding(context: UrlCheckContext): Finding {
  const response = context.retrieval.https.response;
  if (response === null) {
    return fail(httpsChecks.hsts, 'no HTTPS answer, so no Strict-Transport-Security either', 'serve the site over HTTPS, then send Strict-Transport-Security: max-age=31536000; includeSubDomains on every HTTPS answer');
  }
  const value = headerValue(response.headers, 'strict-transport-security');
  if (value === undefined) {
    return fail(httpsChecks.hsts, `no Strict-Transport-Security header on ${response.url}`, `send Strict-Transport-Security: max-age=${minimumHstsMaxAgeSeconds}; includeSubDomains on every HTTPS answer (helmet: strictTransportSecurity)`);
  }
  if (hstsRule?.accepts(value) !== true) {
    return fail(httpsChecks.hsts, `Strict-Transport-Security: ${snippet(value, 120)} (wanted ${hstsRule?.expected ?? 'a longer max-age'})`, `send Strict-Transport-Security: max-age=${minimumHstsMaxAgeSeconds}; includeSubDomains`, {
      severity: 'low',
    });
  }
  return pass(httpsChecks.hsts, `Strict-Transport-Security: ${snippet(value, 120)}`);
}

export const httpsGroup: UrlCheckGroup = {
  name: 'tls',
  practice: 9,
  async run(context) {
    const findings: Finding[] = [];
    const https = context.retrieval.https;
    if (https.response === null) {
      findings.push(
        fail(
          httpsChecks.available,
          `${context.target.httpsUrl.href} did not answer over TLS (${https.error?.code ?? 'error'}: ${https.error?.message ?? 'no answer'})`,
          'serve the site over HTTPS (Let\'s Encrypt certificates are free; Portcullis obtains one through ACME) and make plain HTTP only redirect to it',
        ),
      );
      const reason = 'no HTTPS listener answered';
      findings.push(notChecked(httpsChecks.trusted, reason), notChecked(httpsChecks.expiry, reason), notChecked(httpsChecks.legacyTls, reason), notChecked(httpsChecks.weakSuites, reason));
    } else {
      findings.push(pass(httpsChecks.available, `${https.start.href} → ${https.response.status}${https.verified ? '' : ' (certificate not verified)'}`));
      findings.push(...(await tlsFindings(context)));
    }
    findings.push(redirectFindings(context), hstsFinding(context));
    return findings;
  },
};
