/**
 * docker-compose.yml works as shipped (issue #10 item 13), checked without a Docker engine: Kafka keeps its data
 * on the volume, the gateway container reaches a clearinghouse (the simulator of the `sim` profile by default,
 * overridable by CLEARINGHOUSE_ENDPOINTS, read by the real config loader and payer directory), and the simulator
 * service runs a command that exists in the image and starts.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadPayerDirectory } from '../../connectors/payer-directory.ts';
import { loadConfig } from '../../src/config/load-config.ts';
import { x12Channel } from '../../src/workflow/rules/payer-directory.ts';
import { repoRoot } from '../helpers/cli.ts';

interface Service {
  image?: string;
  build?: string;
  profiles?: string[];
  entrypoint?: string[];
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string; required?: boolean }>;
}

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
};
const { kafka, gateway, postgres } = compose.services;
const sim = compose.services['clearinghouse-sim'];

/** Compose's `${NAME:-default}` with NAME unset in the shell: the default. */
function interpolateUnset(value: string): string {
  return value.replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

/** `volume:/path` mounts of a service, as { volume, target }. */
function mounts(service: Service | undefined): Array<{ volume: string; target: string }> {
  return (service?.volumes ?? []).map((v) => {
    const [volume = '', target = ''] = v.split(':');
    return { volume, target };
  });
}

function argAfter(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

describe('docker-compose.yml', () => {
  it('keeps Kafka data on a named volume: KAFKA_LOG_DIRS is where the volume is mounted', () => {
    const logDirs = kafka?.environment?.KAFKA_LOG_DIRS;
    expect(logDirs).toBeDefined();
    const mount = mounts(kafka).find((m) => m.target === logDirs);
    expect(mount).toBeDefined();
    expect(compose.volumes).toHaveProperty(mount!.volume);
  });

  it("keeps PostgreSQL data on a named volume at the image's data directory", () => {
    const mount = mounts(postgres).find((m) => m.target === '/var/lib/postgresql/data');
    expect(mount).toBeDefined();
    expect(compose.volumes).toHaveProperty(mount!.volume);
  });

  it('runs the simulated clearinghouse only under the sim profile, listening on every interface', () => {
    expect(sim?.profiles).toEqual(['sim']);
    expect(sim?.build).toBe(gateway?.build); // the gateway's image: the simulator's code is in it
    expect(argAfter(sim?.command ?? [], '--host')).toBe('0.0.0.0');
    // The gateway waits for it when it runs, and starts without it otherwise.
    expect(gateway?.depends_on?.['clearinghouse-sim']).toEqual({
      condition: 'service_healthy',
      required: false,
    });
  });

  it("the simulator's command exists in the image (not dockerignored, its loader a production dependency) and starts", async () => {
    const args = [...(sim?.entrypoint ?? []), ...(sim?.command ?? [])];
    expect(args[0]).toBe('node');
    const script = args.find((a) => a.endsWith('.ts'))!;
    expect(existsSync(path.join(repoRoot, script))).toBe(true);
    const ignored = readFileSync(path.join(repoRoot, '.dockerignore'), 'utf8').split('\n').filter(Boolean);
    expect(ignored.filter((pattern) => script.startsWith(pattern.replace(/\/$/, '')))).toEqual([]);
    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    // The image installs with --omit=dev.
    expect(pkg.dependencies).toHaveProperty('tsx');
    expect(pkg.dependencies).toHaveProperty('node-x12');

    // The same command, on a free port of this machine instead of 8790.
    const local = args
      .slice(1)
      .map((a, i, all) => (all[i - 1] === '--port' ? '0' : all[i - 1] === '--host' ? '127.0.0.1' : a));
    const child = spawn(process.execPath, local, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const endpoint = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d) => {
          out += d;
          const match = /listening on (http:\/\/\S+)/.exec(out);
          if (match) resolve(match[1]!);
        });
        child.on('exit', (code) => reject(new Error(`simulator exited with ${code}`)));
      });
      expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/core$/);
      // Its healthcheck asks /core for any answer.
      const response = await fetch(endpoint);
      expect(response.status).toBeGreaterThan(0);
    } finally {
      child.kill('SIGTERM');
    }
  });

  it('points every payer clearinghouse of the gateway at the simulator service by default, through the config loader', () => {
    const env = Object.fromEntries(
      Object.entries(gateway?.environment ?? {}).map(([name, value]) => [
        name,
        interpolateUnset(String(value)),
      ]),
    );
    const config = loadConfig({ env });
    const simUrl = `http://clearinghouse-sim:${argAfter(sim?.command ?? [], '--port')}/core`;
    expect(config.clearinghouseEndpoints).toEqual({ 'pagw-sim': simUrl });
    const directory = loadPayerDirectory(config.payersDir, {
      clearinghouseEndpoints: config.clearinghouseEndpoints,
    });
    const endpoints = directory.payers
      .map((payer) => x12Channel(payer)?.clearinghouse.endpoint)
      .filter((e): e is string => e !== undefined);
    expect(endpoints.length).toBeGreaterThan(0);
    // Nothing left pointing at the container's own loopback.
    expect(new Set(endpoints)).toEqual(new Set([simUrl]));
  });

  it('lets CLEARINGHOUSE_ENDPOINTS from the shell replace the simulator', () => {
    const raw = gateway?.environment?.CLEARINGHOUSE_ENDPOINTS ?? '';
    expect(raw).toMatch(/^\$\{CLEARINGHOUSE_ENDPOINTS:-/);
    const config = loadConfig({ env: { CLEARINGHOUSE_ENDPOINTS: 'pagw-sim=https://ch.example.test/core' } });
    expect(config.clearinghouseEndpoints).toEqual({ 'pagw-sim': 'https://ch.example.test/core' });
  });
});
