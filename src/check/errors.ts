// src/check/errors.ts
// Practice 7 (minimal error details): a handful of harmless malformed requests (an unknown path,
// malformed JSON, a bad percent-encoding, an oversized header, TRACE), and a search of each answer
// for stack traces, file paths, framework names and versions. Portcullis answers all of them with
// its generic catalogue messages (src/errors/catalogue.ts).

import { randomBytes } from 'node:crypto';
import { snippet, type ProbeAnswer, type UrlCheckContext, type UrlCheckGroup } from './context.js';
import { fail, notChecked, pass, warn, type CheckDefinition, type Finding } from './finding.js';

export const errorChecks = {
  stack: { practice: 7, id: 'error-stack-trace', title: 'Error answers show no stack trace or file path', severity: 'medium' },
  framework: { practice: 7, id: 'error-framework-disclosure', title: 'Error answers name no framework, exception or version', severity: 'low' },
  serverErrors: { practice: 7, id: 'error-server-errors', title: 'Malformed requests get a 4xx, not a 5xx', severity: 'low' },
  trace: { practice: 7, id: 'trace-method', title: 'TRACE is refused', severity: 'medium' },
} as const satisfies Record<string, CheckDefinition>;

// Every pattern is matched line by line on lines cut at maxLineLength, with bounded repetitions, so a
// hostile answer cannot make the search slow.

/** Stack frames and tracebacks of the common runtimes. */
export const stackTracePatterns: readonly RegExp[] = [
  /\bat [^()]{0,200}\((?:\/|[A-Za-z]:\\|node:|file:)[^\s)]{0,300}:\d{1,7}:\d{1,7}\)/,
  /\bat (?:\/|[A-Za-z]:\\|node:|file:)[^\s)]{0,300}:\d{1,7}:\d{1,7}/,
  /\bat [\w$.<>]{1,200} \(<anonymous>\)/,
  /Traceback \(most recent call last\)/,
  /\bFile "[^"]{1,300}", line \d/,
  /\bat [\w$.<>]{1,300}\([\w$]{1,100}\.(?:java|kt|scala):\d/,
  /Stack trace:/,
];

/** Absolute paths of a server's file system and dependency folders. */
export const filePathPatterns: readonly RegExp[] = [
  /(?:^|[\s"'(=:>])\/(?:home|usr|var|srv|opt|app|root|tmp|Users|work|workspace|code|mnt|etc)\/[\w.@-]{1,100}\/[\w.@-]/,
  /\b[A-Za-z]:\\[\w .-]{1,100}\\/,
  /\bnode_modules\//,
];

/** Longest line searched; longer lines are cut. */
const maxLineLength = 2_000;

/** The first match of any pattern, line by line: the excerpt around it. */
export function firstMatch(text: string, patterns: readonly RegExp[]): string | undefined {
  for (const fullLine of text.split('\n')) {
    const line = fullLine.slice(0, maxLineLength);
    for (const pattern of patterns) {
      const match = pattern.exec(line);
      if (match !== null) return snippet(line.slice(Math.max(0, match.index - 40), match.index + match[0].length + 60), 140);
    }
  }
  return undefined;
}

/** Framework, server and exception names that tell an attacker what to try. */
export const disclosurePatterns: readonly { readonly pattern: RegExp; readonly reveals: string }[] = [
  { pattern: /Cannot (?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|TRACE|TRACK|CONNECT) \//, reveals: "Express's default 404 page" },
  { pattern: /\bExpress\b|\bbody-parser\b|\bfinalhandler\b/, reveals: 'Express' },
  { pattern: /\bFST_ERR_[A-Z_]+/, reveals: 'Fastify' },
  { pattern: /\bKoa\b/, reveals: 'Koa' },
  { pattern: /\bWerkzeug\b|\bFlask\b/, reveals: 'Flask/Werkzeug' },
  { pattern: /\bDjango\b|DEBUG = True/, reveals: 'Django' },
  { pattern: /\bLaravel\b|Whoops!|\bSymfony\b/, reveals: 'PHP framework' },
  { pattern: /\bActionController\b|\bRuby on Rails\b/, reveals: 'Ruby on Rails' },
  { pattern: /Apache Tomcat|\bJetty\b|\bSpring Boot\b|Whitelabel Error Page/, reveals: 'Java server' },
  { pattern: /\bASP\.NET\b|Server Error in '\/' Application/, reveals: 'ASP.NET' },
  { pattern: /\b(?:nginx|Apache|Microsoft-IIS|PHP|openresty|lighttpd|Caddy|Node\.js)\/v?\d+\.\d/, reveals: 'server software version' },
  { pattern: /\b(?:SyntaxError|TypeError|ReferenceError|RangeError|PayloadTooLargeError|UnsupportedMediaTypeError|NullPointerException|ValueError|KeyError)\b/, reveals: 'exception class' },
  { pattern: /Unexpected (?:token|end of JSON input|non-whitespace)|in JSON at position|JSON\.parse/, reveals: "the JSON parser's own message" },
  { pattern: /\bnode:internal\b/, reveals: 'Node.js internals' },
];

/** Error pages are often HTML with <br> and &nbsp;: read them as text before searching. */
export function readableText(body: string): string {
  return body
    .replace(/<br\s*\/?>/gi, '\n')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&#x27;/g, "'")
    .replace(/&amp;/g, '&');
}

export interface LabelledAnswer {
  readonly label: string;
  readonly answer: ProbeAnswer;
}

export function describeAnswer(labelled: LabelledAnswer): string {
  const { request, exchange, failure } = labelled.answer;
  return `${labelled.label} (${request.method} ${snippet(request.target, 40)}) → ${exchange === undefined ? `no answer: ${failure?.code ?? failure?.message ?? 'error'}` : String(exchange.status)}`;
}

/** Searches answers for leaks; one line of evidence per answer that leaks. */
export function searchAnswers(answers: readonly LabelledAnswer[], patterns: readonly RegExp[]): string[] {
  const hits: string[] = [];
  for (const labelled of answers) {
    const exchange = labelled.answer.exchange;
    if (exchange === undefined) continue;
    const found = firstMatch(readableText(exchange.body), patterns);
    if (found !== undefined) hits.push(`${describeAnswer(labelled)}: "${found}"`);
  }
  return hits;
}

export async function runErrorProbes(context: UrlCheckContext): Promise<LabelledAnswer[]> {
  const postPath = context.options.postPath ?? context.baseUrl.pathname;
  const marker = randomBytes(8).toString('hex');
  const probes: readonly (readonly [string, Parameters<UrlCheckContext['probe']>[0]])[] = [
    ['unknown path', { path: `/portcullis-check-${marker}` }],
    ['malformed JSON', { path: postPath, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"portcullis-check": ' }],
    ['bad percent-encoding', { path: '/', rawPath: '/%E0%A4%A' }],
    ['oversized header', { path: context.baseUrl.pathname, headers: { 'x-portcullis-check': 'a'.repeat(32 * 1024) } }],
    ['TRACE', { path: context.baseUrl.pathname, method: 'TRACE', headers: { 'x-portcullis-trace': marker } }],
  ];
  return Promise.all(probes.map(async ([label, spec]) => ({ label, answer: await context.probe(spec) })));
}

export function errorFindings(answers: readonly LabelledAnswer[]): Finding[] {
  const answered = answers.filter((labelled) => labelled.answer.exchange !== undefined);
  if (answered.length === 0) {
    const reason = `none of the malformed requests got an answer: ${answers.map(describeAnswer).join('; ')}`;
    return [notChecked(errorChecks.stack, reason), notChecked(errorChecks.framework, reason), notChecked(errorChecks.serverErrors, reason), notChecked(errorChecks.trace, reason)];
  }
  const findings: Finding[] = [];
  const summary = answers.map(describeAnswer).join('; ');

  const stacks = searchAnswers(answered, [...stackTracePatterns, ...filePathPatterns]);
  findings.push(
    stacks.length === 0
      ? pass(errorChecks.stack, summary)
      : fail(errorChecks.stack, stacks.join(' | '), 'answer errors with a generic message and log the details on the server only (Express: a last error handler that never sends err.stack; NODE_ENV=production)'),
  );

  const disclosures: string[] = [];
  for (const labelled of answered) {
    const text = readableText(labelled.answer.exchange?.body ?? '');
    for (const { pattern, reveals } of disclosurePatterns) {
      const found = firstMatch(text, [pattern]);
      if (found !== undefined) {
        disclosures.push(`${describeAnswer(labelled)} reveals ${reveals}: "${found}"`);
        break;
      }
    }
  }
  findings.push(
    disclosures.length === 0
      ? pass(errorChecks.framework, `no framework, exception or version named in ${answered.length} error answers`)
      : fail(errorChecks.framework, disclosures.join(' | '), 'replace the framework\'s default error and 404 pages with your own generic ones (one central error handler, one not-found handler)'),
  );

  const serverErrors = answered.filter((labelled) => (labelled.answer.exchange?.status ?? 0) >= 500);
  findings.push(
    serverErrors.length === 0
      ? pass(errorChecks.serverErrors, `all malformed requests answered below 500: ${answered.map((labelled) => `${labelled.label} ${String(labelled.answer.exchange?.status)}`).join(', ')}`)
      : warn(errorChecks.serverErrors, serverErrors.map(describeAnswer).join('; '), 'treat malformed input as the client\'s error (400, 404, 405, 413, 415, 431): a 5xx means the request reached code that did not expect it'),
  );

  const trace = answers.find((labelled) => labelled.label === 'TRACE');
  const traceExchange = trace?.answer.exchange;
  if (trace === undefined || traceExchange === undefined) {
    findings.push(pass(errorChecks.trace, trace === undefined ? 'not sent' : describeAnswer(trace)));
  } else {
    const echoes = /x-portcullis-trace/i.test(traceExchange.body) || /message\/http/i.test(traceExchange.headers['content-type'] ?? '');
    findings.push(
      traceExchange.status >= 200 && traceExchange.status < 300 && echoes
        ? fail(errorChecks.trace, `${describeAnswer(trace)} and echoes the request back (cross-site tracing)`, 'refuse TRACE and TRACK with 405 (nginx/Apache: TraceEnable off; Express: a first middleware that refuses them)')
        : pass(errorChecks.trace, describeAnswer(trace)),
    );
  }
  return findings;
}

export const errorsGroup: UrlCheckGroup = {
  name: 'errors',
  practice: 7,
  async run(context) {
    return errorFindings(await runErrorProbes(context));
  },
};
