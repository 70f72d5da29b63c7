import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { defaultLaneKey, laneHeaderRegex } from '../../../common/lanes/key';
import { governsHost, hostNames, ownVirtualService, restoredSpec, withLanes, withoutLanes, type VirtualServiceSpec } from '../../../extension/core/lanes/istio/virtualService';
import { isDevlaneError } from '../../../extension/core/errors';
import type { LaneRoute } from '../../../extension/core/lanes/backend';

const service = { namespace: 'shop', name: 'orders' };
const lane = (name: string, extra: Partial<LaneRoute> = {}): LaneRoute => ({ lane: name, owner: name, expiresAt: new Date(0), memberService: `dl-${name}-orders`, ...extra });
const edit = (lanes: LaneRoute[]) => ({ service, key: defaultLaneKey, lanes, where: 'VirtualService shop/orders' });

/** A user's VirtualService: an /api route split over subsets with a rewrite and retries, a default route, and a route to another host. */
const user: VirtualServiceSpec = {
  hosts: ['orders'],
  http: [
    { name: 'api', match: [{ uri: { prefix: '/api' } }, { headers: { 'end-user': { exact: 'jason' } } }], rewrite: { uri: '/' }, retries: { attempts: 2 }, route: [{ destination: { host: 'orders', subset: 'v1', port: { number: 8080 } }, weight: 90 }, { destination: { host: 'orders', subset: 'v2', port: { number: 8080 } }, weight: 10 }] },
    { name: 'payments', match: [{ uri: { prefix: '/pay' } }], route: [{ destination: { host: 'payments.shop.svc.cluster.local' } }] },
    { route: [{ destination: { host: 'orders.shop.svc.cluster.local' } }] },
  ],
};

test('each lane gets a copy of every route to the Service, placed before it: key added to each match, the member as the one destination', () => {
  const { spec, mirrors } = withLanes(structuredClone(user), edit([lane('bob'), lane('alice')]));
  assert.deepEqual(mirrors, []);
  const names = spec.http!.map((r) => r.name ?? '(unnamed)');
  assert.deepEqual(names, ['devlane-alice-api', 'devlane-bob-api', 'api', 'payments', 'devlane-alice-route2', 'devlane-bob-route2', '(unnamed)']);
  const alice = spec.http![0]!;
  const key = { baggage: { regex: laneHeaderRegex(defaultLaneKey, 'alice') } };
  assert.deepEqual(alice.match, [{ uri: { prefix: '/api' }, headers: key }, { headers: { 'end-user': { exact: 'jason' }, ...key } }]);
  assert.deepEqual(alice.route, [{ destination: { host: 'dl-alice-orders.shop.svc.cluster.local', port: { number: 8080 } } }]);
  assert.deepEqual(alice.rewrite, { uri: '/' }, 'the user\'s rewrite is kept');
  assert.deepEqual(alice.retries, { attempts: 2 });
  assert.deepEqual(spec.http![4]!.match, [{ headers: key }], 'a route without a match gets the key as its match');
  assert.deepEqual(spec.http![2], user.http![0], 'the user\'s routes are untouched');
  assert.deepEqual(spec.http![3], user.http![1]);
});

test('changing the lanes replaces Devlane\'s routes only; no lanes gives the user\'s spec back', () => {
  const two = withLanes(structuredClone(user), edit([lane('alice'), lane('bob')])).spec;
  const one = withLanes(two, edit([lane('bob')])).spec;
  assert.deepEqual(one.http!.map((r) => r.name ?? ''), ['devlane-bob-api', 'api', 'payments', 'devlane-bob-route2', '']);
  assert.deepEqual(withLanes(one, edit([])).spec, user);
  assert.deepEqual(withoutLanes(one, []), user);
});

test('mirrors: added to the user\'s routes to the Service, and only Devlane\'s taken out again', () => {
  const withOwnMirror: VirtualServiceSpec = structuredClone(user);
  withOwnMirror.http![2]!.mirrors = [{ destination: { host: 'shadow' }, percentage: { value: 5 } }];
  const { spec, mirrors } = withLanes(withOwnMirror, edit([lane('alice', { mirrorPercent: 20 })]));
  const target = 'dl-alice-orders.shop.svc.cluster.local';
  assert.deepEqual(mirrors, [target]);
  assert.deepEqual(spec.http!.find((r) => r.name === 'api')!.mirrors, [{ destination: { host: target }, percentage: { value: 20 } }]);
  assert.deepEqual(spec.http![spec.http!.length - 1]!.mirrors, [{ destination: { host: 'shadow' }, percentage: { value: 5 } }, { destination: { host: target }, percentage: { value: 20 } }]);
  assert.equal(spec.http!.find((r) => r.name === 'devlane-alice-api')!.mirrors, undefined, 'a lane copy mirrors nothing');
  assert.deepEqual(withLanes(spec, edit([]), mirrors).spec, withOwnMirror);
});

test('restoring: the original when the user\'s part is unchanged (even empty lists), else their current spec without Devlane\'s entries', () => {
  const original: VirtualServiceSpec = { ...structuredClone(user), gateways: [] };
  const { spec, mirrors } = withLanes(structuredClone(original), edit([lane('alice', { mirrorPercent: 10 })]));
  assert.deepEqual(restoredSpec(spec, original, mirrors), original);
  const changed = structuredClone(spec);
  changed.http!.push({ name: 'theirs', route: [{ destination: { host: 'orders' } }] });
  const restored = restoredSpec(changed, original, mirrors);
  assert.deepEqual(restored.http!.map((r) => r.name ?? ''), ['api', 'payments', '', 'theirs']);
  assert.equal(restored.http!.some((r) => r.mirrors?.length), false);
});

test('a user route that already matches on the key is refused with what to do; hosts, governance and Devlane\'s own VirtualService', () => {
  const taken: VirtualServiceSpec = { hosts: ['orders'], http: [{ name: 'x', match: [{ headers: { Baggage: { regex: '.*' } } }], route: [{ destination: { host: 'orders' } }] }] };
  assert.throws(() => withLanes(taken, edit([lane('alice')])), (e: unknown) => isDevlaneError(e) && e.reason === 'invalid-input' && /lanes\.key\.header/.test(e.message));
  assert.deepEqual(hostNames(service), ['orders', 'orders.shop', 'orders.shop.svc', 'orders.shop.svc.cluster.local']);
  assert.equal(governsHost({ hosts: ['orders.shop.svc.cluster.local'] }, hostNames(service)), true);
  assert.equal(governsHost({ hosts: ['orders'], gateways: ['shop-gateway'] }, hostNames(service)), false, 'a gateway-only VirtualService does not route mesh traffic');
  assert.equal(governsHost({ hosts: ['orders'], gateways: ['shop-gateway', 'mesh'] }, hostNames(service)), true);
  const own = ownVirtualService(edit([lane('alice')])).spec;
  assert.deepEqual(own.http!.map((r) => r.name), ['devlane-alice-default', 'default']);
  assert.deepEqual(own.http![1]!.route, [{ destination: { host: 'orders' } }]);
});
