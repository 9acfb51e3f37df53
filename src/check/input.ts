// src/check/input.ts
// Practice 10 (validate input) at the door: an oversized body gets 413, a content type the site does
// not parse gets 415, and malformed JSON gets a plain 400 without the parser's own message. The
// statuses are the ones Portcullis answers with (src/errors/catalogue.ts).

import { errorCatalogue } from '../errors/catalogue.js';
import { snippet, type ProbeAnswer, type UrlCheckContext, type UrlCheckGroup } from './context.js';
import { disclosurePatterns, firstMatch, readableText } from './errors.js';
import { fail, notChecked, pass, warn, type CheckDefinition, type Finding } from './finding.js';

export const inputChecks = {
  bodyLimit: { practice: 10, id: 'input-body-size-limit', title: `An oversized body is refused with ${errorCatalogue.BODY_TOO_LARGE.status}`, severity: 'medium' },
  mediaType: { practice: 10, id: 'input-unsupported-media-type', title: `A content type the site does not parse is refused with ${errorCatalogue.UNSUPPORTED_MEDIA_TYPE.status}`, severity: 'low' },
  malformedJson: { practice: 10, id: 'input-malformed-json', title: `Malformed JSON gets a generic ${errorCatalogue.MALFORMED_JSON.status}`, severity: 'medium' },
} as const satisfies Record<string, CheckDefinition>;

/** The oversized body: 1 MiB and a byte, past any sensible JSON limit (Portcullis: 16 KiB, body-parser: 100 KiB). */
export const oversizedBodyBytes = 1024 * 1024 + 1;

/** Statuses that say the request was turned away before its body mattered: no verdict on the body. */
const inconclusive = new Set([401, 403, 404, 405]);

function shown(answer: ProbeAnswer): string {
  const { request, exchange, failure } = answer;
  const target = `${request.method} ${request.target}`;
  return exchange === undefined ? `${target} → no answer (${failure?.code ?? failure?.message ?? 'error'})` : `${target} → ${exchange.status}`;
}

function inconclusiveReason(answer: ProbeAnswer, postPath: string): string {
  return `${shown(answer)}: turned away before the body was read, so nothing can be said about it; pass --post-path with a path that accepts POST (a form or API endpoint), now ${postPath}`;
}

export async function inputFindings(context: UrlCheckContext): Promise<Finding[]> {
  const postPath = context.options.postPath ?? context.baseUrl.pathname;
  const oversized = `{"portcullis-check":"${'x'.repeat(oversizedBodyBytes - 24)}"}`;
  const [big, xml, malformed] = await Promise.all([
    context.probe({ path: postPath, method: 'POST', headers: { 'content-type': 'application/json' }, body: oversized }),
    context.probe({ path: postPath, method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<portcullis-check/>' }),
    context.probe({ path: postPath, method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"portcullis-check": ' }),
  ]);
  const findings: Finding[] = [];

  const expectedTooLarge = errorCatalogue.BODY_TOO_LARGE.status;
  if (big.exchange === undefined) {
    const closed = big.failure?.code === 'ECONNRESET' || big.failure?.code === 'EPIPE';
    findings.push(closed ? pass(inputChecks.bodyLimit, `${shown(big)}: the connection was closed before the ${oversizedBodyBytes}-byte body was taken`) : notChecked(inputChecks.bodyLimit, shown(big)));
  } else if (big.exchange.status === expectedTooLarge) {
    findings.push(pass(inputChecks.bodyLimit, `${shown(big)} for ${oversizedBodyBytes} bytes`));
  } else if (inconclusive.has(big.exchange.status)) {
    findings.push(notChecked(inputChecks.bodyLimit, inconclusiveReason(big, postPath)));
  } else if (big.exchange.status < 300 || big.exchange.status >= 500) {
    findings.push(
      fail(inputChecks.bodyLimit, `${shown(big)} for ${oversizedBodyBytes} bytes: the body was ${big.exchange.status < 300 ? 'accepted' : 'read and then failed'}`, `cap request bodies (express.json({ limit: '16kb' }) or at the proxy: client_max_body_size) and answer ${expectedTooLarge}`),
    );
  } else {
    findings.push(warn(inputChecks.bodyLimit, `${shown(big)} for ${oversizedBodyBytes} bytes, refused but not with ${expectedTooLarge}`, `answer ${expectedTooLarge} Payload Too Large so clients know why`, { severity: 'low' }));
  }

  const expectedUnsupported = errorCatalogue.UNSUPPORTED_MEDIA_TYPE.status;
  if (xml.exchange === undefined) {
    findings.push(notChecked(inputChecks.mediaType, shown(xml)));
  } else if (xml.exchange.status === expectedUnsupported) {
    findings.push(pass(inputChecks.mediaType, `${shown(xml)} for Content-Type: application/xml`));
  } else if (inconclusive.has(xml.exchange.status)) {
    findings.push(notChecked(inputChecks.mediaType, inconclusiveReason(xml, postPath)));
  } else if (xml.exchange.status >= 500) {
    findings.push(fail(inputChecks.mediaType, `${shown(xml)} for Content-Type: application/xml`, `refuse bodies of types the route does not parse with ${expectedUnsupported} before any handler runs`));
  } else {
    findings.push(
      warn(inputChecks.mediaType, `${shown(xml)} for Content-Type: application/xml: an unparsed body type was let through`, `refuse bodies of types the route does not parse with ${expectedUnsupported} before any handler runs`),
    );
  }

  const expectedMalformed = errorCatalogue.MALFORMED_JSON.status;
  const malformedExchange = malformed.exchange;
  if (malformedExchange === undefined) {
    findings.push(notChecked(inputChecks.malformedJson, shown(malformed)));
  } else if (inconclusive.has(malformedExchange.status)) {
    findings.push(notChecked(inputChecks.malformedJson, inconclusiveReason(malformed, postPath)));
  } else {
    const text = readableText(malformedExchange.body);
    const parserPatterns = disclosurePatterns.filter(({ reveals }) => reveals === "the JSON parser's own message" || reveals === 'exception class').map(({ pattern }) => pattern);
    const leaked = firstMatch(text, parserPatterns) !== undefined;
    if (malformedExchange.status === expectedMalformed && !leaked) {
      findings.push(pass(inputChecks.malformedJson, `${shown(malformed)}: "${snippet(malformedExchange.body, 100)}"`));
    } else if (malformedExchange.status === expectedMalformed) {
      findings.push(fail(inputChecks.malformedJson, `${shown(malformed)} with the parser's message: "${snippet(text, 140)}"`, 'answer malformed JSON with a fixed message ("The request body is not valid JSON.") and keep the parser\'s error in the server log', { severity: 'low' }));
    } else {
      findings.push(
        fail(inputChecks.malformedJson, `${shown(malformed)} for a truncated JSON body`, `parse JSON strictly before any handler runs and answer ${expectedMalformed} with a generic message`, {
          severity: malformedExchange.status >= 500 || malformedExchange.status < 300 ? 'medium' : 'low',
        }),
      );
    }
  }
  return findings;
}

export const inputGroup: UrlCheckGroup = {
  name: 'input',
  practice: 10,
  run: inputFindings,
};
