import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as socks from '../../../dataplane/protocol/socks5';
import { parseProxyRequest } from '../../../dataplane/protocol/httpConnect';
import type { ParseResult } from '../../../dataplane/protocol/parse';

// Checks every parser answer is well formed: 'ok' never claims more bytes than it was given.
function check<T>(r: ParseResult<T>, len: number): void {
  assert.ok(r.kind === 'more' || r.kind === 'error' || (r.kind === 'ok' && r.consumed > 0 && r.consumed <= len));
}

const parsers = [socks.parseGreeting, socks.parseUserPass, socks.parseRequest, (b: Uint8Array) => parseProxyRequest(b, 512)];

const seeds = [
  Buffer.from([5, 2, 0, 2]),
  Buffer.from([1, 3, 97, 98, 99, 1, 100]),
  socks.encodeConnect({ host: 'a.example', port: 443 }),
  Buffer.from([5, 1, 0, 4, ...new Array(16).fill(0), 0, 80]),
  Buffer.from('CONNECT host:443 HTTP/1.1\r\nProxy-Authorization: Basic YTpi\r\n\r\n'),
  Buffer.from('GET http://h:8/p HTTP/1.0\r\nHost: h\r\n\r\n'),
];

test('parsers survive random, mutated and truncated input', () => {
  const deadline = Date.now() + 3_000;
  let n = 0;
  while (Date.now() < deadline && n < 200_000) {
    n++;
    const seed = seeds[n % seeds.length]!;
    let input: Buffer;
    switch (n % 3) {
      case 0:
        input = randomBytes(n % 64);
        break;
      case 1: {
        input = Buffer.from(seed);
        const flips = 1 + (n % 4);
        const rnd = randomBytes(flips * 2);
        for (let i = 0; i < flips; i++) input[rnd[2 * i]! % input.length] = rnd[2 * i + 1]!;
        break;
      }
      default:
        input = seed.subarray(0, n % (seed.length + 1));
    }
    for (const p of parsers) check(p(input) as ParseResult<unknown>, input.length);
  }
  assert.ok(n > 1_000, `only ${n} iterations ran`);
});
