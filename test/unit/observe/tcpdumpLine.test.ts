/** Golden lines: real Debian tcpdump 4.99.3 output (`-l -nn -tttt`, on `lo` and on `any` across a veth pair). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTcpdumpLine } from '../../../extension/core/observe/tcpdumpLine';

test('IPv4 TCP with options and decoded HTTP', () => {
  const r = parseTcpdumpLine('2026-11-22 02:29:46.995681 IP 127.0.0.1.36310 > 127.0.0.1.8080: Flags [P.], seq 1:80, ack 1, win 64, options [nop,nop,TS val 3810734014 ecr 1135411649], length 79: HTTP: GET /x HTTP/1.1');
  assert.deepEqual({ ...r, raw: undefined }, { time: '2026-11-22 02:29:46.995681', source: '127.0.0.1:36310', destination: '127.0.0.1:8080', protocol: 'TCP', flags: 'P.', length: 79, summary: 'HTTP: GET /x HTTP/1.1', raw: undefined });
  const syn = parseTcpdumpLine('2026-11-22 02:29:46.937471 IP 127.0.0.1.36310 > 127.0.0.1.8080: Flags [S], seq 40792873, win 65495, options [mss 65495,sackOK,TS val 3810733955 ecr 0,nop,wscale 10], length 0');
  assert.equal(syn.flags, 'S');
  assert.equal(syn.length, 0);
  assert.equal(syn.summary, 'seq 40792873, win 65495, length 0');
});

test('IPv6 addresses with ports, ICMP6, HBH', () => {
  const dns = parseTcpdumpLine('2026-11-22 02:29:47.010544 IP6 ::1.33979 > ::1.53: domain [length 6 < 12] (invalid)');
  assert.equal(dns.source, '[::1]:33979');
  assert.equal(dns.destination, '[::1]:53');
  assert.equal(dns.protocol, 'UDP');
  const icmp = parseTcpdumpLine('2026-11-22 02:29:47.010574 IP6 ::1 > ::1: ICMP6, destination unreachable, unreachable port, ::1 udp port 53, length 62');
  assert.deepEqual([icmp.source, icmp.destination, icmp.protocol, icmp.length], ['::1', '::1', 'ICMP6', 62]);
  const hbh = parseTcpdumpLine('2026-11-22 02:29:56.299666 v1    Out IP6 :: > ff02::16: HBH ICMP6, multicast listener report v2, 1 group record(s), length 28');
  assert.deepEqual([hbh.iface, hbh.direction, hbh.source, hbh.destination, hbh.protocol, hbh.length], ['v1', 'Out', '::', 'ff02::16', 'ICMP6', 28]);
});

test('-i any: interface and direction, ARP and ICMP', () => {
  const arp = parseTcpdumpLine('2026-11-22 02:29:56.554273 v1    B   ARP, Request who-has 10.9.0.2 tell 10.9.0.1, length 28');
  assert.deepEqual([arp.iface, arp.direction, arp.protocol, arp.length, arp.summary], ['v1', 'B', 'ARP', 28, 'Request who-has 10.9.0.2 tell 10.9.0.1, length 28']);
  const udp = parseTcpdumpLine('2026-11-22 02:29:57.622843 lo    In  IP 127.0.0.1.33105 > 127.0.0.1.9999: UDP, length 3');
  assert.deepEqual([udp.iface, udp.direction, udp.source, udp.destination, udp.protocol, udp.length], ['lo', 'In', '127.0.0.1:33105', '127.0.0.1:9999', 'UDP', 3]);
  const icmp = parseTcpdumpLine('2026-11-22 02:29:57.622869 lo    In  IP 127.0.0.1 > 127.0.0.1: ICMP 127.0.0.1 udp port 9999 unreachable, length 39');
  assert.deepEqual([icmp.source, icmp.protocol, icmp.length], ['127.0.0.1', 'ICMP', 39]);
});

test('lines that are not packets keep their text as the summary', () => {
  const r = parseTcpdumpLine('tcpdump: listening on any, link-type LINUX_SLL2 (Linux cooked v2), snapshot length 262144 bytes');
  assert.equal(r.time, '');
  assert.equal(r.protocol, '');
  assert.equal(r.summary, r.raw);
});
