/** The pure status arithmetic: lastTransitionTime, canonical comparison, the route parents merge. */
import { describe, expect, it } from 'vitest';
import {
  canonical,
  hasOurParents,
  mergeRouteParents,
  metaTime,
  ownedStatusPatch,
  stampTransitions,
} from '../../src/control/status/stamp.js';
import { CONTROLLER, cond, OTHER_CONTROLLER, ourParent, theirParent } from './helpers.js';

const T0 = '2025-01-01T00:00:00Z';
const T1 = '2025-01-02T00:00:00Z';

describe('stampTransitions', () => {
  it('stamps new conditions with now and keeps the time while type+status hold', () => {
    const observed = { conditions: [{ ...cond('Accepted', true, 'Accepted'), lastTransitionTime: T0 }] };
    const desired = {
      conditions: [
        { ...cond('Accepted', true, 'Accepted'), message: 'new words' },
        cond('Programmed', false, 'Invalid'),
      ],
    };
    expect(stampTransitions(desired, observed, T1)).toEqual({
      conditions: [
        { ...cond('Accepted', true, 'Accepted'), message: 'new words', lastTransitionTime: T0 },
        { ...cond('Programmed', false, 'Invalid'), lastTransitionTime: T1 },
      ],
    });
  });

  it('bumps the time when the status flips', () => {
    const observed = { conditions: [{ ...cond('Accepted', true, 'Accepted'), lastTransitionTime: T0 }] };
    const out = stampTransitions({ conditions: [cond('Accepted', false, 'Invalid')] }, observed, T1) as any;
    expect(out.conditions[0].lastTransitionTime).toBe(T1);
  });

  it('matches nested lists by listener name, not position', () => {
    const observed = {
      listeners: [
        { name: 'b', conditions: [{ ...cond('Accepted', true, 'Accepted'), lastTransitionTime: T0 }] },
        { name: 'a', conditions: [{ ...cond('Accepted', false, 'Invalid'), lastTransitionTime: T0 }] },
      ],
    };
    const desired = {
      listeners: [
        { name: 'a', conditions: [cond('Accepted', false, 'Invalid')] },
        { name: 'b', conditions: [cond('Accepted', false, 'Invalid')] },
      ],
    };
    const out = stampTransitions(desired, observed, T1) as any;
    expect(out.listeners[0].conditions[0].lastTransitionTime).toBe(T0); // a: still False
    expect(out.listeners[1].conditions[0].lastTransitionTime).toBe(T1); // b: True → False
  });

  it('does not mutate its inputs', () => {
    const desired = { conditions: [cond('Accepted', true, 'Accepted')] };
    const copy = structuredClone(desired);
    stampTransitions(desired, undefined, T1);
    expect(desired).toEqual(copy);
  });
});

describe('helpers', () => {
  it('canonical ignores key order, not array order', () => {
    expect(canonical({ a: 1, b: { c: 2, d: 3 } })).toBe(canonical({ b: { d: 3, c: 2 }, a: 1 }));
    expect(canonical([1, 2])).not.toBe(canonical([2, 1]));
  });

  it('metaTime writes whole seconds', () => {
    expect(metaTime(new Date('2025-01-01T10:20:30.456Z'))).toBe('2025-01-01T10:20:30Z');
  });

  it('ownedStatusPatch nulls keys we no longer produce', () => {
    expect(ownedStatusPatch({ conditions: [] }, { conditions: [1], addresses: [2] })).toEqual({
      conditions: [],
      addresses: null,
    });
  });
});

describe('mergeRouteParents', () => {
  it('keeps other controllers’ entries in place and replaces ours', () => {
    const staleOurs = { ...ourParent(false, 'old'), parentRef: { name: 'old-gw' } };
    const observed = { parents: [theirParent(), staleOurs] };
    const { status, unchanged } = mergeRouteParents(observed, [ourParent()], CONTROLLER, T1);
    expect(unchanged).toBe(false);
    const parents = status.parents as any[];
    expect(parents).toHaveLength(2);
    expect(parents[0]).toEqual(theirParent());
    expect(parents[1].parentRef).toEqual(ourParent().parentRef);
    expect(parents[1].conditions.every((c: any) => c.lastTransitionTime === T1)).toBe(true);
  });

  it('is unchanged when our entries match, whatever the order and times', () => {
    const ours = stampTransitions([ourParent()], undefined, T0) as any[];
    const observed = { parents: [ours[0], theirParent()] };
    expect(mergeRouteParents(observed, [ourParent()], CONTROLLER, T1).unchanged).toBe(true);
  });

  it('removing all our entries leaves theirs (and an empty list when there is nothing else)', () => {
    const observed = { parents: [ourParent(), theirParent()] };
    expect(mergeRouteParents(observed, [], CONTROLLER, T1).status.parents).toEqual([theirParent()]);
    expect(mergeRouteParents({ parents: [ourParent()] }, [], CONTROLLER, T1).status.parents).toEqual([]);
    expect(mergeRouteParents(undefined, [], CONTROLLER, T1).unchanged).toBe(true);
  });

  it('hasOurParents looks at controllerName only', () => {
    expect(hasOurParents({ parents: [theirParent()] }, CONTROLLER)).toBe(false);
    expect(hasOurParents({ parents: [theirParent()] }, OTHER_CONTROLLER)).toBe(true);
    expect(hasOurParents(undefined, CONTROLLER)).toBe(false);
  });
});
