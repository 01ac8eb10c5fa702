import { describe, expect, it } from 'vitest';
import type { CriteriaChecklist } from '../../src/canonical/index.ts';
import { buildTaskEvent } from '../../src/outbound/tasks/task-event.ts';
import {
  applySuppliedEvidence,
  readSuppliedEvidence,
  unknownCriteriaTask,
} from '../../src/workflow/pharmacy/unknown-criteria.ts';

const checklist: CriteriaChecklist = {
  criteriaId: 'adalimumab-plaque-psoriasis',
  version: '2026.1',
  evaluatedAt: '2026-11-30T03:00:00Z',
  items: [
    { id: 'diagnosis', description: 'Plaque psoriasis', status: 'met', reason: 'coded', evidence: [] },
    {
      id: 'tb-screening',
      description: 'Negative TB screening within 12 months',
      status: 'unknown',
      reason: 'no result on file',
      evidence: [],
    },
    {
      id: 'prescriber-specialty',
      description: 'A dermatologist',
      status: 'unknown',
      reason: 'no taxonomy',
      evidence: [],
    },
  ],
  summary: { met: 1, notMet: 0, unknown: 2 },
};
const at = new Date('2026-11-30T03:00:00Z');

describe('unknown drug criteria as a task', () => {
  it('names each unknown criterion, the evidence that answers it and why the record did not', () => {
    const spec = unknownCriteriaTask(checklist, { urgency: 'expedited', at })!;
    expect(spec).toMatchObject({
      kind: 'criteria_unknown',
      ownerRole: 'pharmacist',
      priority: 'high',
      dueAt: new Date(at.getTime() + 4 * 3_600_000),
      reasonCodes: ['CRITERIA_UNKNOWN', 'CRITERION:tb-screening', 'CRITERION:prescriber-specialty'],
    });
    expect(spec.needed.map((n) => [n.type, n.code, n.label, n.source])).toEqual([
      ['criterion', 'tb-screening', 'Negative TB screening within 12 months', 'no result on file'],
      ['criterion', 'prescriber-specialty', 'A dermatologist', 'no taxonomy'],
    ]);
    expect(
      unknownCriteriaTask({ ...checklist, items: [checklist.items[0]!] }, { urgency: 'standard', at }),
    ).toBe(undefined);
    expect(unknownCriteriaTask(undefined, { urgency: 'standard', at })).toBe(undefined);
    // Published as task.v1.1 (the criterion type of needed items), valid against its schema.
    const event = buildTaskEvent(
      {
        ...spec,
        id: '6f1c2d9e-4a4b-4c1e-9a51-0c8f2b1d7e11',
        tenant: 'pharmacy-a',
        caseId: '0b7a4c1e-2f3d-4e5f-8a9b-1c2d3e4f5a6b',
        version: 1,
        state: 'open',
        assignee: null,
        resolution: null,
        needed: [...spec.needed],
        reasonCodes: [...spec.reasonCodes],
      },
      'opened',
      at,
    );
    expect(event).toMatchObject({ schema: 'task.v1.1', task: { kind: 'criteria_unknown' } });
  });

  it('applies evidence for every required criterion and counts the summary again; refuses partial or foreign answers', () => {
    const required = ['tb-screening', 'prescriber-specialty'];
    const read = readSuppliedEvidence([
      {
        criterionId: 'tb-screening',
        status: 'met',
        source: 'Observation/qft-9',
        date: '2026-10-01',
        value: 'NEG',
      },
      { criterionId: 'prescriber-specialty', status: 'not_met', source: 'Practitioner/p-1' },
    ]);
    expect(read.problems).toEqual([]);
    const applied = applySuppliedEvidence(checklist, required, read.evidence!, 'user:rph');
    expect(applied.ok).toBe(true);
    if (!applied.ok) return;
    expect(applied.checklist.summary).toEqual({ met: 2, notMet: 1, unknown: 0 });
    expect(applied.checklist.items[1]).toMatchObject({
      status: 'met',
      reason: expect.stringContaining('user:rph'),
      evidence: [{ source: 'Observation/qft-9', date: '2026-10-01', value: 'NEG' }],
    });

    const partial = applySuppliedEvidence(checklist, required, [read.evidence![0]!], 'user:rph');
    expect(partial).toMatchObject({ ok: false, problems: [{ location: 'evidence' }] });
    const foreign = applySuppliedEvidence(
      checklist,
      required,
      [...read.evidence!, { criterionId: 'diagnosis', status: 'met', source: 'x' }],
      'user:rph',
    );
    expect(foreign).toMatchObject({ ok: false, problems: [{ location: 'evidence[2].criterionId' }] });
  });

  it('reads evidence strictly: status, a source reference, a date', () => {
    expect(readSuppliedEvidence([]).problems[0]!.location).toBe('evidence');
    expect(
      readSuppliedEvidence([
        { criterionId: 'tb', status: 'maybe', source: 'has spaces', date: 'yesterday' },
      ]).problems.map((p) => p.location),
    ).toEqual(['evidence[0].status', 'evidence[0].source', 'evidence[0].date']);
  });
});
