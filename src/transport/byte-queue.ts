/**
 * Bytes received in chunks, taken from the front in whole pieces. Every operation costs time
 * in proportion to the bytes it takes (or, for `uint32At`, the few chunks it reads across),
 * never to the number of chunks held: a peer that sends one byte per frame costs linear time.
 */
export class ByteQueue {
  #chunks: Buffer[] = [];
  #head = 0; // index of the first chunk still held
  #length = 0;

  /** Bytes held. */
  get length(): number {
    return this.#length;
  }

  /** Appends a chunk (kept, not copied). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#length += chunk.length;
  }

  /** The big-endian uint32 at byte `offset` from the front; the caller checks `length` first. */
  uint32At(offset: number): number {
    let value = 0;
    for (let i = offset; i < offset + 4; i++) value = value * 256 + this.#byteAt(i);
    return value;
  }

  /** Removes and returns the first `n` bytes (1 <= n <= length): a view when one chunk holds them all. */
  take(n: number): Buffer {
    // n <= length: the chunks from #head on hold at least n bytes, so each one read here exists.
    const first = this.#chunks[this.#head]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#head++;
      else this.#chunks[this.#head] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.#chunks[this.#head]!;
        const k = Math.min(c.length, n - filled);
        c.copy(out, filled, 0, k);
        filled += k;
        if (k === c.length) this.#head++;
        else this.#chunks[this.#head] = c.subarray(k);
      }
    }
    this.#length -= n;
    if (this.#head === this.#chunks.length) {
      this.#chunks = [];
      this.#head = 0;
    }
    return out;
  }

  /** Removes and returns every byte held. */
  takeAll(): Buffer {
    return this.take(this.#length);
  }

  // offset < length (checked by the callers): the loop reaches the chunk holding it.
  #byteAt(offset: number): number {
    for (let i = this.#head; ; i++) {
      const c = this.#chunks[i]!;
      if (offset < c.length) return c[offset]!;
      offset -= c.length;
    }
  }
}
