/** The HEIF decode plan read from hand-built boxes (no coded image needed): what counts, and what is malformed. */
import { describe, expect, it } from "vitest";
import { HeifStructureError, heifDecodePlan } from "./heif-boxes.js";

const u16 = (n: number) => Buffer.from([n >> 8, n & 255]);
const u32 = (n: number) => Buffer.from([n >>> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255]);
const box = (type: string, ...payload: Buffer[]) => Buffer.concat([u32(8 + Buffer.concat(payload).length), Buffer.from(type, "latin1"), ...payload]);
const full = (type: string, version: number, flags: number, ...payload: Buffer[]) => box(type, Buffer.from([version, 0, 0, flags]), ...payload);
const infe = (id: number, type: string) => full("infe", 2, 0, u16(id), u16(0), Buffer.from(`${type}\0`, "latin1"));
const ispe = (w: number, h: number) => full("ispe", 0, 0, u32(w), u32(h));

/**
 * A file whose item 1 is a `rows`×`columns` grid of `tile`² hvc1 tiles (items 2…), item 999 a
 * 64×64 image, with `primary` as pitm; `gridCells` overrides what the grid's description says.
 */
function heif(options: { rows: number; columns: number; tile: number; primary: number; gridCells?: number; irot?: boolean }): Buffer {
  const tiles = Array.from({ length: options.rows * options.columns }, (_, i) => 2 + i);
  const [width, height] = [options.columns * options.tile, options.rows * options.tile];
  const cells = options.gridCells ?? tiles.length;
  const grid = Buffer.concat([Buffer.from([0, 1, 0, cells - 1]), u32(width), u32(height)]);
  const meta = full(
    "meta",
    0,
    0,
    full("pitm", 0, 0, u16(options.primary)),
    full("iinf", 0, 0, u16(tiles.length + 2), infe(1, "grid"), ...tiles.map((id) => infe(id, "hvc1")), infe(999, "hvc1")),
    full("iref", 0, 0, box("dimg", u16(1), u16(tiles.length), ...tiles.map(u16))),
    box(
      "iprp",
      box("ipco", ispe(width, height), ispe(options.tile, options.tile), ispe(64, 48), box("irot", Buffer.from([1]))),
      full(
        "ipma",
        0,
        0,
        u32(tiles.length + 2),
        Buffer.concat([u16(1), Buffer.from([1, 1])]),
        ...tiles.map((id) => Buffer.concat([u16(id), Buffer.from([1, 2])])),
        Buffer.concat([u16(999), options.irot ? Buffer.from([2, 3, 4]) : Buffer.from([1, 3])]),
      ),
    ),
    full("iloc", 1, 0, u16(0x4400), u16(1), u16(1), u16(1), u16(0), u16(1), u32(0), u32(grid.length)),
    box("idat", grid),
  );
  return Buffer.concat([box("ftyp", Buffer.from("heic\0\0\0\0mif1", "latin1")), meta]);
}

describe("heifDecodePlan", () => {
  it("counts every top-level image a decoder decodes — the grid by its tiles — and reads the primary's displayed size", () => {
    const plan = heifDecodePlan(heif({ rows: 12, columns: 12, tile: 1024, primary: 999, irot: true }));

    expect(plan.primary).toEqual({ itemId: 999, itemType: "hvc1", width: 64, height: 48, decodedPixels: 3072, displayWidth: 48, displayHeight: 64 });
    expect(plan.topLevel.map((i) => [i.itemId, i.decodedPixels])).toEqual([
      [1, 144 * 1024 * 1024],
      [999, 3072],
    ]);
    expect(plan.decodedPixels).toBe(144 * 1024 * 1024 + 3072);
  });

  it.each([
    ["a grid whose description names more cells than tiles", () => heif({ rows: 2, columns: 2, tile: 64, primary: 1, gridCells: 9 })],
    ["a primary item that does not exist", () => heif({ rows: 1, columns: 1, tile: 64, primary: 7 })],
    ["a file cut inside its meta box", () => heif({ rows: 2, columns: 2, tile: 64, primary: 1 }).subarray(0, 120)],
    ["no ftyp first", () => box("meta")],
  ])("%s is HeifStructureError", (_name, make) => {
    expect(() => heifDecodePlan(make())).toThrow(HeifStructureError);
  });
});
