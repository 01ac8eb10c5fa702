/**
 * A Kafka-protocol broker per suite: librdkafka's mock cluster, driven by test/kafka/mock-broker.c (built here
 * with gcc, cached by source hash), or the real cluster named by KAFKA_BROKERS when it is set.
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { Kafka, logLevel } from 'kafkajs';

const root = path.join(import.meta.dirname, '../..');
const source = path.join(root, 'test/kafka/mock-broker.c');
const cacheDir = path.join(root, 'node_modules/.cache/pagw-mock-broker');

export interface TopicSpec {
  readonly name: string;
  readonly partitions: number;
}

export interface KafkaTestCluster {
  readonly brokers: string[];
  /** True for the librdkafka mock (outages can be simulated), false for a real cluster. */
  readonly mock: boolean;
  /** Takes every broker down: connections close and new ones are refused (mock only). */
  down(): Promise<void>;
  up(): Promise<void>;
  createTopics(topics: readonly TopicSpec[]): Promise<void>;
  stop(): Promise<void>;
}

/** Unique names per test: topics, groups and prefixes never collide on a shared cluster. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** Builds the mock broker once per source version; concurrent builders race harmlessly (atomic rename). */
export function buildMockBroker(): string {
  const hash = createHash('sha256').update(readFileSync(source)).digest('hex').slice(0, 16);
  const binary = path.join(cacheDir, `mock-broker-${hash}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const temporary = `${binary}.${process.pid}.tmp`;
  try {
    execFileSync('gcc', ['-O2', '-Wall', '-o', temporary, source, '-lrdkafka'], { stdio: 'pipe' });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString() ?? String(error);
    throw new Error(`cannot build ${path.relative(root, source)} (needs gcc and librdkafka-dev): ${stderr}`);
  }
  renameSync(temporary, binary);
  return binary;
}

/** Why no broker can be had here, or undefined when one can. */
export function kafkaUnavailableReason(): string | undefined {
  if (process.env.KAFKA_BROKERS) return undefined;
  try {
    buildMockBroker();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

export async function startKafka(topics: readonly TopicSpec[]): Promise<KafkaTestCluster> {
  const real = process.env.KAFKA_BROKERS;
  if (real)
    return realCluster(
      real.split(',').map((b) => b.trim()),
      topics,
    );
  return mockCluster(topics);
}

async function realCluster(brokers: string[], topics: readonly TopicSpec[]): Promise<KafkaTestCluster> {
  const kafka = new Kafka({ clientId: 'pagw-tests', brokers, logLevel: logLevel.ERROR });
  const createTopics = async (specs: readonly TopicSpec[]) => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: specs.map((t) => ({ topic: t.name, numPartitions: t.partitions })),
      });
    } finally {
      await admin.disconnect();
    }
  };
  await createTopics(topics);
  const unsupported = async () => {
    throw new Error('a real cluster (KAFKA_BROKERS) cannot be taken down by the tests');
  };
  return { brokers, mock: false, down: unsupported, up: unsupported, createTopics, stop: async () => {} };
}

async function mockCluster(topics: readonly TopicSpec[]): Promise<KafkaTestCluster> {
  const binary = buildMockBroker();
  const child: ChildProcessWithoutNullStreams = spawn(
    binary,
    topics.map((t) => `${t.name}:${t.partitions}`),
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += String(chunk);
  });
  const lines = createInterface({ input: child.stdout });
  const pending: Array<(line: string) => void> = [];
  const early: string[] = [];
  lines.on('line', (line) => {
    const waiter = pending.shift();
    if (waiter) waiter(line);
    else early.push(line);
  });
  const nextLine = (timeoutMs = 120_000) =>
    new Promise<string>((resolve, reject) => {
      const queued = early.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(
        () => reject(new Error(`mock broker did not answer in ${timeoutMs} ms; stderr: ${stderr}`)),
        timeoutMs,
      );
      pending.push((line) => {
        clearTimeout(timer);
        resolve(line);
      });
    });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const first = await nextLine().catch(async (error) => {
    child.kill('SIGKILL');
    throw error;
  });
  const match = /^bootstrap (\S+)$/.exec(first);
  if (!match) {
    child.kill('SIGKILL');
    throw new Error(`mock broker said '${first}'; stderr: ${stderr}`);
  }
  const command = async (text: string) => {
    child.stdin.write(`${text}\n`);
    const answer = await nextLine();
    if (!answer.startsWith('ok')) throw new Error(`mock broker: '${text}' → '${answer}'`);
  };
  return {
    brokers: match[1]!.split(','),
    mock: true,
    down: () => command('down all'),
    up: () => command('up all'),
    async createTopics(specs) {
      for (const t of specs) await command(`topic ${t.name} ${t.partitions}`);
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}
