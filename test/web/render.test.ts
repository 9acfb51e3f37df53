// test/web/render.test.ts
// memoiseDocumentWithValue (src/web/render.ts): error pages are rendered once per status and
// message and only their request id is put in per request. It must give exactly the page a full
// render gives, escape what it puts in, and fall back to rendering when the page's shape is odd.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ErrorPage } from '../../src/web/pages/error.js';
import { memoiseDocumentWithValue, renderDocument } from '../../src/web/render.js';

const render = (requestId: string, status: number, message: string) => renderDocument(ErrorPage({ siteName: 'Portcullis', status, message, requestId }));

describe('memoised error pages', () => {
  it('give exactly the page a full render gives, rendering once per status and message', () => {
    let renders = 0;
    const memoised = memoiseDocumentWithValue(
      (value: string, status: number, message: string) => {
        renders += 1;
        return render(value, status, message);
      },
      (status, message) => `${status} ${message}`,
    );
    for (const id of ['0b7c5f5e-4b8f-4e0c-9d59-5a7e3f0f9a11', 'proxy-id:42.a_b-c']) {
      assert.equal(memoised(id, 429, 'Too many requests.'), render(id, 429, 'Too many requests.'));
      assert.equal(memoised(id, 404, 'Not found.'), render(id, 404, 'Not found.'));
    }
    assert.equal(renders, 2, 'one render per status and message');
  });

  it('escapes the value it puts in as the renderer would', () => {
    const memoised = memoiseDocumentWithValue(render, (status: number, message: string) => `${status} ${message}`);
    const hostile = `<script>alert("x")</script>&'`;
    const page = memoised(hostile, 500, 'Something went wrong.');
    assert.equal(page.includes('<script>'), false);
    assert.match(page, /&#60;script&#62;alert\(&#34;x&#34;\)&#60;\/script&#62;&#38;&#39;/);
  });

  it('renders every time when the value does not appear exactly once', () => {
    let renders = 0;
    const twice = memoiseDocumentWithValue(
      (value: string) => {
        renders += 1;
        return `<p>${value}</p><p>${value}</p>`;
      },
      () => 'one key',
    );
    assert.equal(twice('a'), '<p>a</p><p>a</p>');
    assert.equal(twice('b'), '<p>b</p><p>b</p>');
    assert.equal(renders, 3, 'the probe, then a full render for each call');
  });
});
