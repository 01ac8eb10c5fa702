/** config.mllp → startMllpServer options (the TLS files read here, at startup, so a bad path fails fast). */
import { readFileSync } from 'node:fs';
import type { GatewayConfig } from '../../config/load-config.ts';
import type { MllpServerOptions } from './server.ts';

export function mllpOptionsFromConfig(
  mllp: NonNullable<GatewayConfig['mllp']>,
): Omit<MllpServerOptions, 'accept' | 'logger' | 'clock'> {
  const { tls, peers, tenant, ...limits } = mllp;
  return {
    ...limits,
    tenant: tenant ?? 'default',
    ...(peers ? { peers } : {}),
    ...(tls
      ? {
          tls: {
            cert: readFileSync(tls.certFile),
            key: readFileSync(tls.keyFile),
            ...(tls.caFile ? { ca: readFileSync(tls.caFile) } : {}),
            requireClientCert: tls.requireClientCert ?? false,
          },
        }
      : {}),
  };
}
