// src/check/html.ts
// Just enough HTML reading for the checks: <script src integrity> and <meta http-equiv> / <meta
// name=referrer>. A tokenizer-level reading (comments and script bodies skipped), not a DOM: markup
// written by script at run time is not seen, which the report's limits say.

export interface Tag {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
}

const entities: ReadonlyMap<string, string> = new Map([
  ['amp', '&'],
  ['quot', '"'],
  ['apos', "'"],
  ['lt', '<'],
  ['gt', '>'],
  ['#39', "'"],
  ['#34', '"'],
]);

function decodeEntities(text: string): string {
  return text.replace(/&(amp|quot|apos|lt|gt|#39|#34);/g, (whole, name: string) => entities.get(name) ?? whole);
}

const isSpace = (char: string) => char === ' ' || char === '\t' || char === '\n' || char === '\r' || char === '\f';

/** Attributes of a start tag's inside (after the name), read the way the HTML tokenizer reads them. */
function parseAttributes(text: string): Map<string, string> {
  const attributes = new Map<string, string>();
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && isSpace(text.charAt(i))) i += 1;
  };
  while (i < text.length) {
    skipSpace();
    if (text.charAt(i) === '/') {
      i += 1;
      continue;
    }
    const start = i;
    while (i < text.length && !isSpace(text.charAt(i)) && text.charAt(i) !== '=' && text.charAt(i) !== '/' && text.charAt(i) !== '>') i += 1;
    const name = text.slice(start, i).toLowerCase();
    if (name === '') {
      i += 1;
      continue;
    }
    skipSpace();
    let value = '';
    if (text.charAt(i) === '=') {
      i += 1;
      skipSpace();
      const quote = text.charAt(i);
      if (quote === '"' || quote === "'") {
        const end = text.indexOf(quote, i + 1);
        value = text.slice(i + 1, end === -1 ? text.length : end);
        i = end === -1 ? text.length : end + 1;
      } else {
        const valueStart = i;
        while (i < text.length && !isSpace(text.charAt(i)) && text.charAt(i) !== '>') i += 1;
        value = text.slice(valueStart, i);
      }
    }
    if (!attributes.has(name)) attributes.set(name, decodeEntities(value));
  }
  return attributes;
}

/** Start tags of the given names, in document order, outside comments and outside script/style bodies. */
export function findTags(html: string, names: readonly string[]): Tag[] {
  const wanted = new Set(names.map((name) => name.toLowerCase()));
  const tags: Tag[] = [];
  const lower = html.toLowerCase();
  let i = 0;
  while (i < html.length) {
    const open = html.indexOf('<', i);
    if (open === -1) break;
    if (html.startsWith('<!--', open)) {
      const end = html.indexOf('-->', open + 4);
      if (end === -1) break;
      i = end + 3;
      continue;
    }
    let nameEnd = open + 1;
    while (nameEnd < html.length && /[a-zA-Z0-9-]/.test(html.charAt(nameEnd))) nameEnd += 1;
    const name = lower.slice(open + 1, nameEnd);
    if (name === '' || !/^[a-z]/.test(name)) {
      i = open + 1;
      continue;
    }
    // The tag ends at the first ">" outside a quoted attribute value.
    let close = nameEnd;
    let quote = '';
    while (close < html.length) {
      const char = html.charAt(close);
      if (quote !== '') {
        if (char === quote) quote = '';
      } else if (char === '"' || char === "'") {
        quote = char;
      } else if (char === '>') {
        break;
      }
      close += 1;
    }
    if (wanted.has(name)) tags.push({ name, attributes: parseAttributes(html.slice(nameEnd, close)) });
    i = close + 1;
    // Raw-text elements: what they contain is not markup.
    if (name === 'script' || name === 'style' || name === 'textarea' || name === 'title') {
      const end = lower.indexOf(`</${name}`, i);
      if (end === -1) break;
      i = end;
    }
  }
  return tags;
}

export interface ScriptTag {
  readonly src: string;
  readonly integrity: string | undefined;
}

/** External scripts: the src attribute as written (as a DOM without a base URL reports it). */
export function externalScripts(html: string): { readonly scripts: ScriptTag[]; readonly scriptElements: number } {
  const tags = findTags(html, ['script']);
  const scripts = tags
    .map((tag) => ({ src: (tag.attributes.get('src') ?? '').trim(), integrity: tag.attributes.get('integrity') }))
    .filter((script) => script.src !== '');
  return { scripts, scriptElements: tags.length };
}

export interface MetaPolicies {
  /** Each <meta http-equiv="content-security-policy" content>. */
  readonly csp: string[];
  /** The last <meta name="referrer" content>, if any. */
  readonly referrer: string | undefined;
}

export function metaPolicies(html: string): MetaPolicies {
  const csp: string[] = [];
  let referrer: string | undefined;
  for (const tag of findTags(html, ['meta'])) {
    const httpEquiv = tag.attributes.get('http-equiv');
    const content = tag.attributes.get('content');
    if (httpEquiv !== undefined && content !== undefined) {
      if (content !== '' && httpEquiv.trim().toLowerCase() === 'content-security-policy') csp.push(content);
    } else if (tag.attributes.get('name')?.trim().toLowerCase() === 'referrer' && content !== undefined && content !== '') {
      referrer = content;
    }
  }
  return { csp, referrer };
}

/** Media types the Observatory treats as HTML (src/types.js HTML_TYPES). */
export const htmlTypes: ReadonlySet<string> = new Set(['text/html', 'application/xhtml+xml']);

export function isHtml(contentType: string | undefined): boolean {
  return htmlTypes.has((contentType ?? '').split(';')[0] ?? '');
}
