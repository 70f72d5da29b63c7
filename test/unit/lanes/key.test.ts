import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { defaultLaneKey, isLaneName, laneHeader, laneHeaderRegex, laneOf, parseBaggage } from '../../../common/lanes/key';

test('lane names are DNS labels', () => {
  for (const ok of ['alice', 'a', 'bob-2', '0x']) assert.ok(isLaneName(ok), ok);
  for (const bad of ['', 'Alice', '-a', 'a-', 'a_b', 'a.b', 'x'.repeat(64)]) assert.ok(!isLaneName(bad), bad);
});

test('baggage: the lane member among others, in any of several headers, properties and spaces allowed', () => {
  assert.equal(laneOf({ baggage: 'devlane-lane=alice' }, defaultLaneKey), 'alice');
  assert.equal(laneOf({ baggage: 'userId=7, devlane-lane = alice ;prop=1, other=x' }, defaultLaneKey), 'alice');
  assert.equal(laneOf({ Baggage: ['a=1', 'devlane-lane=bob'] }, defaultLaneKey), 'bob');
  assert.equal(laneOf({ baggage: 'my-devlane-lane=alice' }, defaultLaneKey), undefined, 'another member whose name ends alike');
  assert.equal(laneOf({ baggage: 'x=devlane-lane=alice' }, defaultLaneKey), undefined);
  assert.equal(laneOf({}, defaultLaneKey), undefined);
  assert.equal(parseBaggage(['k=v%2C1']).get('k'), 'v,1');
  assert.deepEqual(laneHeader(defaultLaneKey, 'alice'), { name: 'baggage', value: 'devlane-lane=alice' });
});

test('a team header: its value is the lane', () => {
  const key = { header: 'x-mse-tag' };
  assert.equal(laneOf({ 'x-mse-tag': ' gray ' }, key), 'gray');
  assert.deepEqual(laneHeader(key, 'gray'), { name: 'x-mse-tag', value: 'gray' });
});

test('the header regex for Istio and Gateway API agrees with the router\'s reading', () => {
  const re = new RegExp(laneHeaderRegex(defaultLaneKey, 'alice'));
  const cases: [string, boolean][] = [
    ['devlane-lane=alice', true],
    ['a=1,devlane-lane=alice', true],
    ['a=1, devlane-lane = alice ;p=2, z=3', true],
    ['devlane-lane=alice2', false],
    ['devlane-lane=bob', false],
    ['my-devlane-lane=alice', false],
    ['x=devlane-lane=alice', false],
    ['devlane-lane=alice,devlane-lane=bob', true],
  ];
  for (const [value, expected] of cases) {
    assert.equal(re.test(value), expected, value);
    // The router takes the first member of a name, as the regex's first match would.
    if (!value.startsWith('devlane-lane=alice,devlane')) assert.equal(laneOf({ baggage: value }, defaultLaneKey) === 'alice', expected, `router: ${value}`);
  }
  const plain = new RegExp(laneHeaderRegex({ header: 'x-asm-prefer-tag' }, 'gray'));
  assert.ok(plain.test('gray') && plain.test(' gray ') && !plain.test('grayer') && !plain.test('a,gray'));
});
