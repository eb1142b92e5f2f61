import { describe, expect, it } from 'vitest';
import { withTargetHealth } from '../../src/shared/health-status.js';
import type { ObjectStatus } from '../../src/shared/status.js';

const accepted = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Backend accepted' };
const statuses: ObjectStatus[] = [
  {
    ref: { kind: 'AgentgatewayBackend', namespace: 'default', name: 'tools' },
    status: { conditions: [accepted] },
  },
  { ref: { kind: 'Backend', namespace: 'team', name: 'legacy' }, status: { conditions: [accepted] } },
  { ref: { kind: 'Gateway', namespace: 'default', name: 'gw' }, status: { conditions: [accepted] } },
];

describe('withTargetHealth', () => {
  it('adds Healthy to the MCP backends the data plane serves, by their ids', () => {
    const out = withTargetHealth(
      statuses,
      new Map([
        ['agentgateway.dev/AgentgatewayBackend/default/tools', ['alpha', 'beta']],
        ['gateway.kgateway.dev/Backend/team/legacy', []],
      ]),
    );
    expect(out[0]!.status.conditions).toEqual([
      accepted,
      {
        type: 'Healthy',
        status: 'False',
        reason: 'TargetsDown',
        message: expect.stringMatching(/: alpha, beta$/),
      },
    ]);
    expect(out[1]!.status.conditions).toEqual([
      accepted,
      { type: 'Healthy', status: 'True', reason: 'TargetsHealthy', message: 'Every target answers' },
    ]);
    expect(out[2]).toBe(statuses[2]);
    // The input is left alone.
    expect(statuses[0]!.status.conditions).toEqual([accepted]);
  });

  it('names ten targets at most', () => {
    const down = Array.from({ length: 25 }, (_, i) => `t${i}`);
    const [first] = withTargetHealth(
      statuses,
      new Map([['agentgateway.dev/AgentgatewayBackend/default/tools', down]]),
    );
    const healthy = (first!.status.conditions as Array<{ type: string; message: string }>).find(
      (c) => c.type === 'Healthy',
    );
    expect(healthy?.message).toMatch(/t9 and 15 more$/);
  });
});
