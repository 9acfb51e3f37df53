// src/check/progress.ts
// One line on stderr that says what the check is doing while probes run, redrawn in place. Only on
// a terminal: piped or redirected stderr gets nothing, so logs and CI output stay clean.

export interface Progress {
  /** A step has started (shown until it is done). */
  start(step: string): void;
  /** A step has finished. */
  done(step: string): void;
  /** Clears the line for good. */
  stop(): void;
}

export const silentProgress: Progress = Object.freeze({
  start: () => undefined,
  done: () => undefined,
  stop: () => undefined,
});

interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): boolean;
}

export function terminalProgress(stream: ProgressStream, label: string): Progress {
  if (stream.isTTY !== true) return silentProgress;
  const running = new Set<string>();
  let finished = 0;
  let stopped = false;
  const draw = () => {
    if (stopped) return;
    const steps = [...running].join(', ');
    const line = `${label}: ${finished} done${steps === '' ? '' : `, running ${steps}`}…`;
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    stream.write(`\r\x1b[2K${line.length > width ? `${line.slice(0, width - 1)}…` : line}`);
  };
  return {
    start(step) {
      running.add(step);
      draw();
    },
    done(step) {
      if (running.delete(step)) finished += 1;
      draw();
    },
    stop() {
      if (stopped) return;
      stopped = true;
      stream.write('\r\x1b[2K');
    },
  };
}
