// src/check/headers.ts
// Practice 4 (secure headers), judged on the page the site answers with: the CSP and its unsafe
// sources and missing directives, frame protection, and one finding per rule in the server's own
// expectedHeaderRules (src/security/headers.ts), so the checker's bar and Portcullis's headers are
// one definition. Also: a CORS policy that hands credentials to any origin, and scripts from other
// origins without Subresource Integrity.

import { expectedHeaderRules, requiredCspDirectives, unsafeCspSources } from '../security/headers.js';
import { headerValue, snippet, type UrlCheckContext, type UrlCheckGroup } from './context.js';
import { parseCsp, type ParsedCsp } from './csp.js';
import { fail, notChecked, pass, type CheckDefinition, type Finding } from './finding.js';
import { externalScripts, isHtml, metaPolicies } from './html.js';
import { cspTest, registrableDomain, type ObservatoryInput } from './observatory-score.js';
import { observatoryCorsOrigin } from './retrieve.js';

export const headerChecks = {
  csp: { practice: 4, id: 'csp', title: 'A Content-Security-Policy is enforced', severity: 'medium' },
  cspUnsafe: { practice: 4, id: 'csp-unsafe-sources', title: "The CSP allows no 'unsafe-inline', 'unsafe-eval', data: or wildcard scripts", severity: 'high' },
  cspDirectives: { practice: 4, id: 'csp-directives', title: `The CSP sets ${requiredCspDirectives.join(', ')}`, severity: 'medium' },
  frame: { practice: 4, id: 'frame-protection', title: 'Framing is refused (CSP frame-ancestors or X-Frame-Options)', severity: 'medium' },
  cors: { practice: 4, id: 'cors', title: 'CORS does not hand credentialed access to any origin', severity: 'high' },
  sri: { practice: 4, id: 'subresource-integrity', title: 'Scripts from other origins carry Subresource Integrity', severity: 'medium' },
} as const satisfies Record<string, CheckDefinition>;

/** How each rule of expectedHeaderRules is reported. */
const ruleReports: Readonly<Record<string, CheckDefinition & { readonly fix: string }>> = {
  'x-content-type-options': {
    practice: 4,
    id: 'x-content-type-options',
    title: 'X-Content-Type-Options: nosniff',
    severity: 'medium',
    fix: 'send X-Content-Type-Options: nosniff on every answer (helmet does by default)',
  },
  'referrer-policy': {
    practice: 4,
    id: 'referrer-policy',
    title: 'Referrer-Policy keeps URLs from leaking to other sites',
    severity: 'low',
    fix: 'send Referrer-Policy: no-referrer (or strict-origin-when-cross-origin at least)',
  },
  'cross-origin-opener-policy': {
    practice: 4,
    id: 'cross-origin-opener-policy',
    title: 'Cross-Origin-Opener-Policy: same-origin',
    severity: 'low',
    fix: 'send Cross-Origin-Opener-Policy: same-origin (helmet: crossOriginOpenerPolicy)',
  },
  'cross-origin-resource-policy': {
    practice: 4,
    id: 'cross-origin-resource-policy',
    title: 'Cross-Origin-Resource-Policy: same-origin',
    severity: 'low',
    fix: 'send Cross-Origin-Resource-Policy: same-origin (helmet: crossOriginResourcePolicy)',
  },
  'permissions-policy': {
    practice: 4,
    id: 'permissions-policy',
    title: 'Permissions-Policy switches off unused browser features',
    severity: 'low',
    fix: 'send Permissions-Policy listing the features the site does not use, for example camera=(), microphone=(), geolocation=(), payment=() (helmet does not set it)',
  },
  'x-powered-by': {
    practice: 4,
    id: 'x-powered-by',
    title: 'No X-Powered-By header',
    severity: 'low',
    fix: "remove X-Powered-By (Express: app.disable('x-powered-by'), or use helmet)",
  },
  server: {
    practice: 4,
    id: 'server-version',
    title: 'The Server header names no version',
    severity: 'low',
    fix: 'drop the Server header or its version (nginx: server_tokens off; Apache: ServerTokens Prod)',
  },
};

const broadSources = new Set(['*', 'http:', 'https:', 'http://*', 'https://*', 'http://*.*', 'https://*.*', 'ftp:']);

function observatoryView(context: UrlCheckContext): ObservatoryInput {
  const { base, auto } = context;
  return {
    hostname: context.target.scanName,
    auto: { url: base.url, status: base.status, headers: base.headers, body: base.body, verified: auto.verified },
    autoSessionUrl: auto.start,
    http: null,
    https: null,
    cookies: [],
    cors: null,
  };
}

/** The policy from the header alone: frame-ancestors is ignored in <meta>. */
function headerOnlyPolicy(context: UrlCheckContext): ParsedCsp | undefined {
  const header = headerValue(context.base.headers, 'content-security-policy');
  if (header === undefined) return undefined;
  try {
    return parseCsp([header]);
  } catch {
    return undefined;
  }
}

function cspFindings(context: UrlCheckContext): Finding[] {
  const analysis = cspTest(observatoryView(context));
  const header = headerValue(context.base.headers, 'content-security-policy');
  const reportOnly = headerValue(context.base.headers, 'content-security-policy-report-only');
  const fixAll = "send a Content-Security-Policy such as default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
  if (analysis.result === 'csp-not-implemented' || analysis.result === 'csp-not-implemented-but-reporting-enabled' || analysis.policy === undefined) {
    const evidence =
      analysis.result === 'csp-header-invalid'
        ? `the policy cannot be parsed (a repeated directive or a malformed source): ${snippet(header ?? '', 160)}`
        : reportOnly === undefined
          ? 'no Content-Security-Policy header or <meta http-equiv> policy'
          : `only Content-Security-Policy-Report-Only (${snippet(reportOnly, 100)}): it reports but blocks nothing`;
    const reason = 'no enforced policy to inspect';
    return [fail(headerChecks.csp, evidence, fixAll), notChecked(headerChecks.cspUnsafe, reason), notChecked(headerChecks.cspDirectives, reason)];
  }
  const policy = analysis.policy;
  const findings: Finding[] = [];
  findings.push(
    analysis.result === 'csp-header-invalid'
      ? fail(headerChecks.csp, `the policy uses 'strict-dynamic' without a nonce or hash, which the Observatory counts as invalid: ${snippet(header ?? '', 120)}`, fixAll)
      : pass(headerChecks.csp, `Content-Security-Policy: ${snippet(header ?? 'set in <meta http-equiv>', 160)}`),
  );

  // Unsafe sources. A nonce or hash makes browsers ignore 'unsafe-inline' (cspTest already dropped it).
  const problems: string[] = [];
  let severe = false;
  const scriptSources = policy.get('script-src') ?? policy.get('default-src');
  if (scriptSources === undefined) {
    problems.push('no script-src or default-src: scripts may come from anywhere');
    severe = true;
  } else {
    const bad = [...scriptSources].filter((source) => unsafeCspSources.includes(source) || broadSources.has(source));
    if (bad.length > 0) {
      problems.push(`scripts allow ${bad.join(' ')}`);
      severe = true;
    }
  }
  const objectSources = policy.get('object-src') ?? policy.get('default-src');
  const badObjects = objectSources === undefined ? [] : [...objectSources].filter((source) => broadSources.has(source));
  if (badObjects.length > 0) {
    problems.push(`plugins (object-src) allow ${badObjects.join(' ')}`);
    severe = true;
  }
  const styleSources = policy.get('style-src') ?? policy.get('default-src');
  const badStyles = styleSources === undefined ? ['(no style-src or default-src)'] : [...styleSources].filter((source) => source === "'unsafe-inline'" || source === "'unsafe-eval'" || source === 'data:' || broadSources.has(source));
  if (badStyles.length > 0) problems.push(`styles allow ${badStyles.join(' ')}`);
  findings.push(
    problems.length === 0
      ? pass(headerChecks.cspUnsafe, 'no unsafe or wildcard sources for scripts, plugins or styles')
      : fail(
          headerChecks.cspUnsafe,
          problems.join('; '),
          "move inline scripts and styles into files served from 'self' (or use nonces/hashes), drop 'unsafe-inline', 'unsafe-eval', data: and wildcards, and set object-src 'none'",
          { severity: severe ? 'high' : 'medium' },
        ),
  );

  // Directives that do not fall back to default-src (or that the targets require outright).
  const headerPolicy = headerOnlyPolicy(context);
  const missing: string[] = [];
  for (const directive of requiredCspDirectives) {
    const sources = directive === 'object-src' ? (policy.get('object-src') ?? policy.get('default-src')) : directive === 'frame-ancestors' ? headerPolicy?.get(directive) : policy.get(directive);
    if (sources === undefined) missing.push(`${directive} missing`);
    else if (directive === 'object-src' && !(sources.size === 1 && sources.has("'none'"))) missing.push(`object-src is ${[...sources].join(' ')}, not 'none'`);
    else if ([...sources].some((source) => broadSources.has(source) || source === "'unsafe-inline'" || source === 'data:')) missing.push(`${directive} is ${[...sources].join(' ')}`);
  }
  findings.push(
    missing.length === 0
      ? pass(headerChecks.cspDirectives, requiredCspDirectives.map((directive) => `${directive} ${[...(policy.get(directive) ?? policy.get('default-src') ?? [])].join(' ')}`).join('; '))
      : fail(headerChecks.cspDirectives, missing.join('; '), "add object-src 'none'; base-uri 'none' (or 'self'); frame-ancestors 'none' (or 'self'); form-action 'self' to the policy"),
  );

  return findings;
}

function frameFinding(context: UrlCheckContext): Finding {
  const xfo = headerValue(context.base.headers, 'x-frame-options')?.trim();
  const ancestors = headerOnlyPolicy(context)?.get('frame-ancestors');
  if (ancestors !== undefined && ![...ancestors].some((source) => broadSources.has(source))) {
    return pass(headerChecks.frame, `CSP frame-ancestors ${[...ancestors].join(' ')}${xfo === undefined ? '' : `; X-Frame-Options: ${xfo}`}`);
  }
  if (xfo !== undefined && ['deny', 'sameorigin'].includes(xfo.toLowerCase())) return pass(headerChecks.frame, `X-Frame-Options: ${xfo}`);
  return fail(
    headerChecks.frame,
    ancestors !== undefined ? `CSP frame-ancestors ${[...ancestors].join(' ')} lets any site frame the pages` : xfo === undefined ? 'neither CSP frame-ancestors nor X-Frame-Options' : `X-Frame-Options: ${xfo} is not DENY or SAMEORIGIN`,
    "add frame-ancestors 'none' to the CSP and X-Frame-Options: DENY for older browsers",
  );
}

function ruleFindings(context: UrlCheckContext): Finding[] {
  const findings: Finding[] = [];
  const metaReferrer = isHtml(headerValue(context.base.headers, 'content-type')) ? metaPolicies(context.base.body).referrer : undefined;
  for (const rule of expectedHeaderRules) {
    // HSTS belongs to practice 9 and is judged on the HTTPS answer (https.ts).
    if (rule.header === 'strict-transport-security') continue;
    const report = ruleReports[rule.header];
    if (report === undefined) continue;
    const { fix, ...definition } = report;
    let value = headerValue(context.base.headers, rule.header);
    if (rule.header === 'referrer-policy' && value === undefined) value = metaReferrer;
    const shown = value === undefined ? 'absent' : `${rule.header}: ${snippet(value, 120)}`;
    findings.push(rule.accepts(value) ? pass(definition, shown) : fail(definition, `${shown} (expected ${rule.expected})`, fix));
  }
  return findings;
}

function corsFinding(context: UrlCheckContext): Finding {
  const preflight = context.retrieval.cors;
  if (preflight === null) return notChecked(headerChecks.cors, 'the CORS preflight (OPTIONS with a foreign Origin) got no answer');
  const allowOrigin = headerValue(preflight.headers, 'access-control-allow-origin');
  const allowCredentials = headerValue(preflight.headers, 'access-control-allow-credentials')?.trim().toLowerCase() === 'true';
  const evidence = `OPTIONS with Origin: ${observatoryCorsOrigin} → Access-Control-Allow-Origin: ${allowOrigin ?? 'absent'}${allowCredentials ? ', Access-Control-Allow-Credentials: true' : ''}`;
  if (allowOrigin !== undefined && allowCredentials && (allowOrigin.trim() === observatoryCorsOrigin || allowOrigin.trim() === 'null')) {
    return fail(headerChecks.cors, `${evidence}: any site can make credentialed requests and read the answers`, 'allow only named origins (never echo the Origin header back) and send Access-Control-Allow-Credentials only to those');
  }
  return pass(headerChecks.cors, evidence);
}

function sriFinding(context: UrlCheckContext): Finding {
  if (!isHtml(headerValue(context.base.headers, 'content-type'))) return notChecked(headerChecks.sri, 'the page is not HTML');
  const { scripts } = externalScripts(context.base.body);
  const ownDomain = registrableDomain(context.baseUrl.hostname);
  const hostOf = (src: string) => {
    try {
      return new URL(src).hostname;
    } catch {
      return '';
    }
  };
  const foreign = scripts.filter((script) => script.src.startsWith('//') || (/^https?:\/\//i.test(script.src) && registrableDomain(hostOf(script.src)) !== ownDomain));
  const unprotected = foreign.filter((script) => script.integrity === undefined || script.integrity === '');
  const insecure = foreign.filter((script) => !script.src.toLowerCase().startsWith('https://'));
  if (unprotected.length === 0 && insecure.length === 0) {
    return pass(headerChecks.sri, foreign.length === 0 ? `${scripts.length} script(s), all from this site` : `${foreign.length} script(s) from other origins, all with integrity`);
  }
  return fail(
    headerChecks.sri,
    [...new Set([...unprotected, ...insecure])].map((script) => `<script src="${snippet(script.src, 100)}"${script.integrity === undefined ? '' : ' integrity'}>`).join(', '),
    'serve scripts from this origin, or add integrity="sha384-..." crossorigin="anonymous" to every script from elsewhere, and load them over https://',
    { severity: insecure.length > 0 ? 'high' : 'medium' },
  );
}

export const headersGroup: UrlCheckGroup = {
  name: 'headers',
  practice: 4,
  run(context) {
    return Promise.resolve([...cspFindings(context), frameFinding(context), ...ruleFindings(context), corsFinding(context), sriFinding(context)]);
  },
};
