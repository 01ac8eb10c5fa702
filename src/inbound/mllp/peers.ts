/**
 * Which peers (remote addresses) may connect to the MLLP listener, and for which tenant: config `mllp.peers`,
 * a list of `{ tenant, allow: [ '10.1.2.0/24', '192.168.0.7', '2001:db8::/32' ] }`. A connection from an
 * address no entry allows is closed at once (before it can send a byte); the first entry that allows it
 * names the tenant its messages belong to. Without `peers`, every address may connect and messages belong
 * to `mllp.tenant`.
 */
import net from 'node:net';
import { ConfigError } from '../../errors/index.ts';

export interface MllpPeerRule {
  readonly tenant: string;
  /** Exact IPv4/IPv6 addresses or CIDR ranges. */
  readonly allow: readonly string[];
}

/** An IPv4 address written as IPv6 (`::ffff:10.0.0.1`, how a dual-stack listener reports it) as IPv4. */
export function normalizeAddress(address: string | undefined): string {
  if (!address) return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

function family(address: string): 'ipv4' | 'ipv6' | undefined {
  const kind = net.isIP(address);
  return kind === 4 ? 'ipv4' : kind === 6 ? 'ipv6' : undefined;
}

/** Compiles the rules; a malformed address or range is a configuration error naming it. */
export function peerRouter(
  rules: readonly MllpPeerRule[] | undefined,
  defaultTenant: string,
): (address: string) => string | undefined {
  if (!rules) return () => defaultTenant;
  const compiled = rules.map((rule, index) => {
    const list = new net.BlockList();
    for (const entry of rule.allow) {
      const [address = '', prefix] = entry.split('/');
      const kind = family(address);
      const bits = prefix === undefined ? undefined : Number(prefix);
      const max = kind === 'ipv4' ? 32 : 128;
      if (!kind || (bits !== undefined && (!Number.isInteger(bits) || bits < 0 || bits > max))) {
        throw new ConfigError(
          'PAGW_CONFIG_INVALID',
          `mllp.peers[${index}].allow: '${entry}' is not an IP address or CIDR range`,
          {
            problems: [
              {
                location: `mllp.peers[${index}].allow`,
                message: `'${entry}' is not an IP address or CIDR range`,
              },
            ],
          },
        );
      }
      if (bits === undefined) list.addAddress(address, kind);
      else list.addSubnet(address, bits, kind);
    }
    return { tenant: rule.tenant, list };
  });
  return (raw) => {
    const address = normalizeAddress(raw);
    const kind = family(address);
    if (!kind) return undefined;
    return compiled.find((rule) => rule.list.check(address, kind))?.tenant;
  };
}
