/**
 * `pagw audit show CASE`: a case's audit rows, each with the delegation chain that authorized it (the ordering
 * clinician, the gateway for the clinic, the reviewer, the connector and its vaulted login). The clinician is a
 * digest in the audit; `--reveal` resolves it from the case (NPI and name) and records that reveal in the audit.
 */
import type { Command } from 'commander';
// Types only at the top: `pagw --help` must not load the store or the audit log (src/cli/main.ts).
import type { Actor } from '../../audit/audit-log.ts';
import type { DelegationLink } from '../../audit/delegation.ts';
import type { AuthorizationRequest } from '../../canonical/index.ts';
import type { Database } from '../../store/index.ts';

interface Row {
  seq: number;
  at: Date;
  tenant_id: string;
  actor: string;
  on_behalf_of: string | null;
  action: string;
  details: Record<string, unknown> & { chain?: DelegationLink[] };
}

function describeLink(link: DelegationLink, clinician: string | null): string {
  const extra = [
    link.role,
    link.npi ? `NPI ${link.npi}` : undefined,
    link.credentials,
    link.onBehalfOf ? `for ${link.onBehalfOf}` : undefined,
  ].filter(Boolean);
  const id = link.as === 'ordering_clinician' && clinician ? `${link.id} = ${clinician}` : link.id;
  return `${link.as} ${id}${extra.length ? ` (${extra.join(', ')})` : ''}`;
}

/** Details worth a glance on the row's line: codes and ids only (the audit holds no PHI). */
const shown = [
  'from',
  'to',
  'gateSeq',
  'role',
  'reason',
  'reasonCode',
  'errorCode',
  'policyId',
  'submissionKey',
];

export async function showCaseAudit(
  db: Database,
  caseId: string,
  options: { reveal?: boolean; json?: boolean; actor: Actor },
): Promise<{ text: string; found: boolean }> {
  const [{ appendAudit }, { clinicianRef }, { uuidPattern, withTransaction }] = await Promise.all([
    import('../../audit/audit-log.ts'),
    import('../../audit/delegation.ts'),
    import('../../store/index.ts'),
  ]);
  if (!uuidPattern.test(caseId)) return { text: `${caseId} is not a case id\n`, found: false };
  const { rows } = await db.pool.query<Row>(
    'SELECT seq, at, tenant_id, actor, on_behalf_of, action, details FROM audit_log WHERE case_id = $1 ORDER BY seq',
    [caseId],
  );
  if (rows.length === 0) return { text: `no audit rows for case ${caseId}\n`, found: false };
  if (options.json) return { text: `${JSON.stringify(rows, null, 2)}\n`, found: true };
  const tenant = rows[0]!.tenant_id;
  let clinician: string | null = null;
  if (options.reveal) {
    const found = await db.pool.query<{ request: AuthorizationRequest }>(
      'SELECT request FROM cases WHERE id = $1',
      [caseId],
    );
    const provider = found.rows[0]?.request.requestingProvider;
    if (provider) {
      const name = [provider.name?.family, ...(provider.name?.given ?? [])].filter(Boolean).join(' ');
      clinician = [provider.npi ? `NPI ${provider.npi}` : undefined, name || undefined]
        .filter(Boolean)
        .join(', ');
    }
    // Who looked behind the digest, and when: a reveal is a case action like any other.
    await withTransaction(db.pool, (tx) =>
      appendAudit(tx, {
        tenant,
        actor: options.actor,
        action: 'case.chain_revealed',
        caseId,
        details: { clinician: found.rows[0] ? clinicianRef(found.rows[0].request) : null },
        at: new Date(),
      }),
    );
  }
  const lines = [`case ${caseId} (tenant ${tenant}): ${rows.length} audit rows`];
  for (const row of rows) {
    const facts = shown
      .filter((k) => row.details[k] !== undefined && row.details[k] !== null)
      .map((k) => `${k}=${String(row.details[k])}`);
    lines.push(
      `#${row.seq} ${row.at.toISOString()} ${row.action} by ${row.actor}${row.on_behalf_of ? ` for ${row.on_behalf_of}` : ''}${facts.length ? `  [${facts.join(' ')}]` : ''}`,
    );
    if (row.details.chain?.length)
      lines.push(`    chain: ${row.details.chain.map((l) => describeLink(l, clinician)).join(' → ')}`);
  }
  if (!options.reveal)
    lines.push('(the ordering clinician is a digest; --reveal shows NPI and name, and is audited)');
  return { text: `${lines.join('\n')}\n`, found: true };
}

export function registerAuditShow(
  audit: Command,
  withDatabase: <T>(work: (db: Database) => Promise<T>) => Promise<T>,
  actor: () => Actor,
): void {
  audit
    .command('show')
    .description('Print a case’s audit rows with the delegation chain that authorized each one')
    .argument('<case-id>', 'the case id')
    .option('--reveal', 'resolve the ordering clinician (NPI and name) from the case; the reveal is audited')
    .option('--json', 'print the rows as JSON')
    .action(async (caseId: string, options: { reveal?: boolean; json?: boolean }) => {
      await withDatabase(async (db) => {
        const result = await showCaseAudit(db, caseId, { ...options, actor: actor() });
        (result.found ? process.stdout : process.stderr).write(result.text);
        if (!result.found) process.exitCode = 1;
      });
    });
}
