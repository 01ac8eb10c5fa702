/**
 * MLLP framing: <VT> message <FS><CR>. A decoder fed whatever TCP delivers (partial frames, several frames in
 * one chunk, junk between frames) yields whole messages, and says when a frame exceeds the size limit
 * (its bytes are dropped until the frame ends, so memory stays bounded).
 * @see HL7 v2.5.1 Appendix C (Lower Layer Protocols), MLLP release 2
 */

export const VT = 0x0b;
export const FS = 0x1c;
export const CR = 0x0d;

export type MllpEvent =
  | { readonly kind: 'message'; readonly payload: Buffer }
  /** `head`: the frame's first bytes (its MSH), so the refusal can name MSH-10 in the sender's delimiters. */
  | { readonly kind: 'oversize'; readonly bytes: number; readonly head: Buffer }
  | { readonly kind: 'junk'; readonly bytes: number };

type State = 'idle' | 'frame' | 'discard' | 'afterFs';

/** How much of an oversize frame is kept: enough for any real MSH segment. */
const oversizeHeadBytes = 4096;

export class MllpDecoder {
  private state: State = 'idle';
  private chunks: Buffer[] = [];
  private size = 0;
  private junk = 0;
  private discarded = 0;

  constructor(private readonly maxMessageBytes: number) {}

  /** Whether a frame has started (its VT seen) and not ended: the frame deadline runs. */
  get inFrame(): boolean {
    return this.state === 'frame' || this.state === 'discard';
  }

  /** Bytes buffered of an unfinished frame (for tests and diagnostics). */
  get pending(): number {
    return this.size;
  }

  push(data: Buffer): MllpEvent[] {
    const events: MllpEvent[] = [];
    let i = 0;
    while (i < data.length) {
      switch (this.state) {
        case 'afterFs': {
          // The CR after FS is expected; a missing one is tolerated (the frame already ended at FS).
          if (data[i] === CR) i++;
          this.state = 'idle';
          break;
        }
        case 'idle': {
          const start = data.indexOf(VT, i);
          const end = start < 0 ? data.length : start;
          this.junk += end - i;
          i = end;
          if (start >= 0) {
            if (this.junk > 0) events.push({ kind: 'junk', bytes: this.junk });
            this.junk = 0;
            this.state = 'frame';
            i = start + 1;
          }
          break;
        }
        case 'frame': {
          const fs = data.indexOf(FS, i);
          const vt = data.indexOf(VT, i);
          if (vt >= 0 && (fs < 0 || vt < fs)) {
            // A new frame starts before this one ended: the unfinished one is junk.
            events.push({ kind: 'junk', bytes: this.size + (vt - i) + 1 });
            this.reset();
            i = vt + 1;
            this.state = 'frame';
            break;
          }
          const end = fs < 0 ? data.length : fs;
          this.append(data.subarray(i, end));
          i = end;
          if (this.size > this.maxMessageBytes) {
            const head = Buffer.concat(this.chunks, this.size).subarray(0, oversizeHeadBytes);
            events.push({ kind: 'oversize', bytes: this.size, head: Buffer.from(head) });
            this.discarded = this.size;
            this.reset();
            this.state = 'discard';
            break;
          }
          if (fs >= 0) {
            events.push({ kind: 'message', payload: Buffer.concat(this.chunks, this.size) });
            this.reset();
            this.state = 'afterFs';
            i = fs + 1;
          }
          break;
        }
        case 'discard': {
          const fs = data.indexOf(FS, i);
          const end = fs < 0 ? data.length : fs;
          this.discarded += end - i;
          i = end;
          if (fs >= 0) {
            this.discarded = 0;
            this.state = 'afterFs';
            i = fs + 1;
          }
          break;
        }
      }
    }
    if (this.state === 'idle' && this.junk > 0 && this.junk >= 1024) {
      events.push({ kind: 'junk', bytes: this.junk });
      this.junk = 0;
    }
    return events;
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    this.chunks.push(Buffer.from(part));
    this.size += part.length;
  }

  private reset(): void {
    this.chunks = [];
    this.size = 0;
  }
}

/** Wraps one message in an MLLP frame. */
export function frame(message: string | Buffer): Buffer {
  const body = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
  return Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS, CR])]);
}
