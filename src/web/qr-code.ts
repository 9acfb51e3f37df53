// src/web/qr-code.ts
// The enrolment QR code as inline SVG made on the server: nothing to fetch (img-src stays 'self'),
// no script, no inline style. qrcode's SVG holds only <path> elements with presentation attributes;
// the markup is checked to be exactly that before it goes into a page unescaped.

import QRCode from 'qrcode';

const opening = /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="[0-9 ]{1,24}" shape-rendering="crispEdges">/;
const closing = '</svg>';
const pathElement = /^<path (?:fill|stroke)="#[0-9a-f]{6}" d="[MmHhVvZz0-9. -]*"$/;

/** True for `<svg ...>` holding one or two `<path .../>` and nothing else. */
function isPlainQrSvg(svg: string): boolean {
  const head = opening.exec(svg)?.[0];
  if (head === undefined || !svg.endsWith(closing)) return false;
  const inner = svg.slice(head.length, svg.length - closing.length);
  const parts = inner.split('/>');
  if (parts.pop() !== '') return false;
  return parts.length >= 1 && parts.length <= 2 && parts.every((part) => pathElement.test(part));
}

export async function qrCodeSvg(content: string): Promise<string> {
  const svg = (await QRCode.toString(content, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 })).trim();
  if (!isPlainQrSvg(svg)) throw new Error('qrcode produced SVG of an unexpected shape; refusing to embed it');
  return svg;
}
