/** `libheif-js` ships no types for its wrapper: the part the wasm decoder uses. */
declare module "libheif-js/wasm-bundle" {
  interface HeifImage {
    get_width(): number;
    get_height(): number;
    is_primary(): boolean;
    /** Decodes into `target` (RGBA); calls back with it, or null on failure. */
    display(target: { data: Uint8ClampedArray; width: number; height: number }, done: (result: { data: Uint8ClampedArray } | null) => void): void;
    free(): void;
  }
  const libheif: {
    ready: Promise<unknown>;
    HeifDecoder: new () => { decode(buffer: Uint8Array): HeifImage[]; decoder: { delete(): void } };
  };
  export default libheif;
}
