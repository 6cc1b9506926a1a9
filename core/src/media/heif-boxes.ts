/**
 * What a HEIF decoder will decode, read from the file's boxes before any pixel is: which image is
 * primary, which images are top-level (libheif's decoders — `heif-convert`, libheif-js — decode
 * every one of them, not just the primary), and how many pixels each costs to decode, grids and
 * overlays included (every tile is decoded whole, whatever the canvas declares). Pure parsing of
 * ISO-BMFF boxes (ISO/IEC 14496-12 and 23008-12): no codec, no allocation beyond the tables read.
 */

/** The file's structure is not HEIF as specified: the image is unreadable, not too large. */
export class HeifStructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HeifStructureError";
  }
}

export interface HeifImageFacts {
  itemId: number;
  itemType: string;
  /** As stored (`ispe`), before `irot`. */
  width: number;
  height: number;
  /** Pixels the decoder decodes for this image: its own, or (derived) all its tiles or layers, whichever is more. */
  decodedPixels: number;
}

export interface HeifDecodePlan {
  /** The primary image (`pitm`), displayed size: `irot` of a quarter turn swaps width and height. */
  primary: HeifImageFacts & { displayWidth: number; displayHeight: number };
  /** The images a decoder treats as top-level (not a tile, thumbnail or auxiliary image), in file order. */
  topLevel: HeifImageFacts[];
  /** What decoding every top-level image costs, in pixels (their `decodedPixels` summed). */
  decodedPixels: number;
}

/** Image item types whose pixels come from other items (`dimg` references). */
const DERIVED_TYPES = new Set(["grid", "iovl", "iden"]);
/** Coded image item types libheif decodes from their own data. */
const CODED_TYPES = new Set(["hvc1", "av01", "jpeg", "avc1", "vvc1", "j2k1", "unci", "mski"]);
/** Nesting of derived images (a grid of grids): libheif allows little; more is an attack. */
const MAX_DERIVATION_DEPTH = 4;
/** Items in one file: an iPhone photo has about 60; a file with far more is not a photo. */
const MAX_ITEMS = 10_000;

interface Box {
  type: string;
  /** Payload start and end (after the header) in the file. */
  start: number;
  end: number;
}

class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public offset: number,
    private readonly end: number,
  ) {}
  private need(n: number): void {
    if (this.offset + n > this.end) throw new HeifStructureError("box shorter than its fields");
  }
  u8(): number {
    this.need(1);
    return this.bytes[this.offset++]!;
  }
  u16(): number {
    return (this.u8() << 8) | this.u8();
  }
  u32(): number {
    return this.u16() * 0x10000 + this.u16();
  }
  /** An unsigned integer of `size` bytes (0, 4 or 8; as iloc's field sizes). */
  uint(size: number): number {
    if (size === 0) return 0;
    if (size === 4) return this.u32();
    if (size === 8) {
      const high = this.u32();
      if (high > 0x1fffff) throw new HeifStructureError("64-bit offset beyond any file");
      return high * 0x1_0000_0000 + this.u32();
    }
    throw new HeifStructureError(`field size ${size} not allowed`);
  }
  fourcc(): string {
    this.need(4);
    const text = String.fromCharCode(...this.bytes.subarray(this.offset, this.offset + 4));
    this.offset += 4;
    return text;
  }
  /** version and flags of a FullBox. */
  fullBox(): { version: number; flags: number } {
    const version = this.u8();
    return { version, flags: (this.u8() << 16) | this.u16() };
  }
  skipString(): void {
    while (this.u8() !== 0) {
      /* up to the terminating NUL */
    }
  }
}

/** The boxes directly inside `[start, end)`. */
function children(bytes: Uint8Array, start: number, end: number): Box[] {
  const boxes: Box[] = [];
  let offset = start;
  while (offset < end) {
    const r = new Reader(bytes, offset, end);
    if (end - offset < 8) throw new HeifStructureError("trailing bytes shorter than a box header");
    let size = r.u32();
    const type = r.fourcc();
    if (size === 1) size = r.uint(8);
    else if (size === 0) size = end - offset;
    const payload = r.offset;
    if (size < payload - offset || offset + size > end) throw new HeifStructureError(`box ${JSON.stringify(type)} overruns its parent`);
    boxes.push({ type, start: payload, end: offset + size });
    offset += size;
  }
  return boxes;
}

const only = (boxes: Box[], type: string): Box | undefined => {
  const found = boxes.filter((b) => b.type === type);
  if (found.length > 1) throw new HeifStructureError(`more than one ${type} box`);
  return found[0];
};

interface Extent {
  offset: number;
  length: number;
}

interface Item {
  id: number;
  type: string;
  hidden: boolean;
  properties: number[];
}

/**
 * Reads the decode plan of a HEIF file. Throws HeifStructureError when the boxes a decoder needs
 * (ftyp, meta, pitm, iinf, iprp/ipco/ipma, iloc for grids) are missing or malformed, or an image
 * has no `ispe` (a decoder could not know its size before decoding).
 */
export function heifDecodePlan(bytes: Uint8Array): HeifDecodePlan {
  const top = children(bytes, 0, bytes.length);
  if (top[0]?.type !== "ftyp") throw new HeifStructureError("no ftyp box first");
  const meta = only(top, "meta");
  if (!meta) throw new HeifStructureError("no meta box");
  const metaBoxes = children(bytes, meta.start + 4, meta.end);

  const pitm = only(metaBoxes, "pitm");
  if (!pitm) throw new HeifStructureError("no primary item (pitm)");
  const pitmReader = new Reader(bytes, pitm.start, pitm.end);
  const primaryId = pitmReader.fullBox().version === 0 ? pitmReader.u16() : pitmReader.u32();

  const items = readItems(bytes, only(metaBoxes, "iinf"));
  const properties = readProperties(bytes, only(metaBoxes, "iprp"), items);
  const references = readReferences(bytes, only(metaBoxes, "iref"));
  const locations = readLocations(bytes, only(metaBoxes, "iloc"));
  const idat = only(metaBoxes, "idat");

  const sizeOf = (item: Item): { width: number; height: number } => {
    const ispe = item.properties.map((index) => properties[index - 1]).find((p) => p?.type === "ispe");
    if (!ispe) throw new HeifStructureError(`image item ${item.id} has no ispe`);
    const r = new Reader(bytes, ispe.start, ispe.end);
    r.fullBox();
    return { width: r.u32(), height: r.u32() };
  };
  const rotated = (item: Item): boolean => {
    const irot = item.properties.map((index) => properties[index - 1]).find((p) => p?.type === "irot");
    return irot !== undefined && (new Reader(bytes, irot.start, irot.end).u8() & 1) === 1;
  };

  /** The grid's own canvas from its data (version, flags, rows-1, columns-1, output size): checked against its ispe. */
  const gridCanvas = (item: Item): { width: number; height: number; tiles: number } => {
    const data = itemData(bytes, locations.get(item.id), idat);
    const r = new Reader(data, 0, data.length);
    r.u8();
    const flags = r.u8();
    const rows = r.u8() + 1;
    const columns = r.u8() + 1;
    const width = flags & 1 ? r.u32() : r.u16();
    const height = flags & 1 ? r.u32() : r.u16();
    return { width, height, tiles: rows * columns };
  };

  const decodedPixels = (item: Item, depth: number, path: Set<number>): number => {
    if (depth > MAX_DERIVATION_DEPTH) throw new HeifStructureError("derived images nested too deep");
    if (path.has(item.id)) throw new HeifStructureError("derived image refers to itself");
    const { width, height } = sizeOf(item);
    const own = width * height;
    if (CODED_TYPES.has(item.type)) return own;
    if (!DERIVED_TYPES.has(item.type)) throw new HeifStructureError(`image item type ${JSON.stringify(item.type)} not decodable`);
    const sources = references.get("dimg")?.get(item.id) ?? [];
    if (sources.length === 0) throw new HeifStructureError(`${item.type} item ${item.id} derives from no image`);
    if (item.type === "grid") {
      const canvas = gridCanvas(item);
      if (canvas.tiles !== sources.length) throw new HeifStructureError(`grid ${item.id} names ${sources.length} tiles for ${canvas.tiles} cells`);
      if (canvas.width !== width || canvas.height !== height) throw new HeifStructureError(`grid ${item.id} canvas differs from its ispe`);
    }
    const inner = new Set(path).add(item.id);
    let fromSources = 0;
    for (const id of sources) {
      const source = items.get(id);
      if (!source) throw new HeifStructureError(`${item.type} item ${item.id} refers to missing item ${id}`);
      fromSources += decodedPixels(source, depth + 1, inner);
    }
    // Every source is decoded whole (a grid's tiles may overhang its canvas), then drawn on the canvas.
    return Math.max(own, fromSources);
  };

  const isImage = (item: Item) => CODED_TYPES.has(item.type) || DERIVED_TYPES.has(item.type);
  // libheif's top-level images: every image item that is not a tile/layer of a derived image, a thumbnail or an auxiliary image.
  const notTopLevel = new Set<number>();
  for (const [from, to] of references.get("dimg") ?? []) if (items.has(from)) for (const id of to) notTopLevel.add(id);
  for (const kind of ["thmb", "auxl"]) for (const from of references.get(kind)?.keys() ?? []) notTopLevel.add(from);

  const facts = (item: Item): HeifImageFacts => ({ itemId: item.id, itemType: item.type, ...sizeOf(item), decodedPixels: decodedPixels(item, 0, new Set()) });
  const topLevel = [...items.values()].filter((item) => isImage(item) && !notTopLevel.has(item.id)).map(facts);
  const primaryItem = items.get(primaryId);
  if (!primaryItem || !isImage(primaryItem)) throw new HeifStructureError(`primary item ${primaryId} is not an image`);
  const primary = facts(primaryItem);
  const turned = rotated(primaryItem);
  return {
    primary: { ...primary, displayWidth: turned ? primary.height : primary.width, displayHeight: turned ? primary.width : primary.height },
    topLevel,
    decodedPixels: topLevel.reduce((sum, image) => sum + image.decodedPixels, 0),
  };
}

function readItems(bytes: Uint8Array, iinf: Box | undefined): Map<number, Item> {
  if (!iinf) throw new HeifStructureError("no item information (iinf)");
  const r = new Reader(bytes, iinf.start, iinf.end);
  const count = r.fullBox().version === 0 ? r.u16() : r.u32();
  if (count > MAX_ITEMS) throw new HeifStructureError(`${count} items`);
  const items = new Map<number, Item>();
  for (const infe of children(bytes, r.offset, iinf.end)) {
    if (infe.type !== "infe") continue;
    const e = new Reader(bytes, infe.start, infe.end);
    const { version, flags } = e.fullBox();
    if (version < 2) continue; // versions 0 and 1 describe no item type (not images)
    const id = version === 2 ? e.u16() : e.u32();
    e.u16(); // item_protection_index
    const type = e.fourcc();
    if (items.has(id)) throw new HeifStructureError(`item ${id} described twice`);
    items.set(id, { id, type, hidden: (flags & 1) === 1, properties: [] });
  }
  return items;
}

/** The property boxes (`ipco`, 1-based as `ipma` counts them), and each item's associations set on `items`. */
function readProperties(bytes: Uint8Array, iprp: Box | undefined, items: Map<number, Item>): Box[] {
  if (!iprp) throw new HeifStructureError("no item properties (iprp)");
  const iprpBoxes = children(bytes, iprp.start, iprp.end);
  const ipco = only(iprpBoxes, "ipco");
  if (!ipco) throw new HeifStructureError("no property container (ipco)");
  const properties = children(bytes, ipco.start, ipco.end);
  for (const ipma of iprpBoxes.filter((b) => b.type === "ipma")) {
    const r = new Reader(bytes, ipma.start, ipma.end);
    const { version, flags } = r.fullBox();
    const entries = r.u32();
    if (entries > MAX_ITEMS) throw new HeifStructureError(`${entries} property associations`);
    for (let i = 0; i < entries; i++) {
      const id = version < 1 ? r.u16() : r.u32();
      const count = r.u8();
      const indices: number[] = [];
      for (let j = 0; j < count; j++) indices.push(flags & 1 ? r.u16() & 0x7fff : r.u8() & 0x7f);
      for (const index of indices) if (index > properties.length) throw new HeifStructureError(`item ${id} names missing property ${index}`);
      items.get(id)?.properties.push(...indices.filter((index) => index > 0));
    }
  }
  return properties;
}

/** reference type → from item → to items. */
function readReferences(bytes: Uint8Array, iref: Box | undefined): Map<string, Map<number, number[]>> {
  const references = new Map<string, Map<number, number[]>>();
  if (!iref) return references;
  const r = new Reader(bytes, iref.start, iref.end);
  const wide = r.fullBox().version !== 0;
  for (const box of children(bytes, r.offset, iref.end)) {
    const b = new Reader(bytes, box.start, box.end);
    const from = wide ? b.u32() : b.u16();
    const count = b.u16();
    const to: number[] = [];
    for (let i = 0; i < count; i++) to.push(wide ? b.u32() : b.u16());
    const byType = references.get(box.type) ?? new Map<number, number[]>();
    byType.set(from, [...(byType.get(from) ?? []), ...to]);
    references.set(box.type, byType);
  }
  return references;
}

interface Location {
  /** 0: file offsets, 1: inside `idat`. */
  method: number;
  extents: Extent[];
}

function readLocations(bytes: Uint8Array, iloc: Box | undefined): Map<number, Location> {
  const locations = new Map<number, Location>();
  if (!iloc) return locations;
  const r = new Reader(bytes, iloc.start, iloc.end);
  const { version } = r.fullBox();
  const sizes = r.u16();
  const [offsetSize, lengthSize, baseOffsetSize, indexSize] = [sizes >> 12, (sizes >> 8) & 15, (sizes >> 4) & 15, sizes & 15];
  const count = version < 2 ? r.u16() : r.u32();
  if (count > MAX_ITEMS) throw new HeifStructureError(`${count} item locations`);
  for (let i = 0; i < count; i++) {
    const id = version < 2 ? r.u16() : r.u32();
    const method = version === 1 || version === 2 ? r.u16() & 15 : 0;
    r.u16(); // data_reference_index
    const base = r.uint(baseOffsetSize);
    const extentCount = r.u16();
    const extents: Extent[] = [];
    for (let j = 0; j < extentCount; j++) {
      if ((version === 1 || version === 2) && indexSize > 0) r.uint(indexSize);
      extents.push({ offset: base + r.uint(offsetSize), length: r.uint(lengthSize) });
    }
    locations.set(id, { method, extents });
  }
  return locations;
}

/** A (small) item's bytes: a grid's or overlay's description. */
function itemData(bytes: Uint8Array, location: Location | undefined, idat: Box | undefined): Uint8Array {
  if (!location || location.extents.length === 0) throw new HeifStructureError("derived image without data");
  const [base, end] = location.method === 1 ? [idat?.start ?? -1, idat?.end ?? -1] : location.method === 0 ? [0, bytes.length] : [-1, -1];
  if (base < 0) throw new HeifStructureError(`item data by construction method ${location.method} not readable`);
  const parts = location.extents.map((e) => {
    // A length of 0 means "to the end" (of the file or idat).
    const start = base + e.offset;
    const stop = e.length === 0 ? end : start + e.length;
    if (stop > end || start > stop) throw new HeifStructureError("item data beyond its container");
    return bytes.subarray(start, stop);
  });
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}
