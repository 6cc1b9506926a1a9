/** The benches' shared arithmetic: one median, one way to time a step. */

/** The middle sample (the upper one of an even count). */
export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Median milliseconds of `rounds` runs of `run`, after one unmeasured warm-up run. */
export async function timeMs(run: () => Promise<unknown>, rounds: number): Promise<number> {
  await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await run();
    samples.push(performance.now() - start);
  }
  return median(samples);
}
