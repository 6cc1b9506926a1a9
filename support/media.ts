/** Small, real media files made in the tests (no binary fixtures in the repo). */
import { deflateSync } from "node:zlib";

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typed = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** A valid RGB PNG of `width`×`height` filled with one colour. */
export function pngImage(width = 2, height = 2, rgb: [number, number, number] = [200, 60, 30]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array.from({ length: width }, () => rgb).flat())]);
  const pixels = Buffer.concat(Array.from({ length: height }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(pixels)),
    chunk("IEND", new Uint8Array()),
  ]);
}

/** A minimal baseline JPEG header (SOI + APP0 JFIF + EOI) — enough for magic-byte detection. */
export function jpegBytes(): Buffer {
  return Buffer.concat([
    Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]),
    Buffer.from("JFIF\u0000", "latin1"),
    Buffer.from([0x01, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00]),
    Buffer.from([0xff, 0xd9]),
  ]);
}

const ascii = (text: string) => Buffer.from(text, "latin1");
const u32be = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const u32le = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

/** A WebP (lossless VP8L) 1×1 image. */
export function webpBytes(): Buffer {
  const vp8l = Buffer.from([0x2f, 0x00, 0x00, 0x00, 0x00, 0x88, 0x88, 0x08, 0x08, 0x88, 0x88, 0x88, 0x00]);
  const body = Buffer.concat([ascii("WEBP"), ascii("VP8L"), u32le(vp8l.length), vp8l, Buffer.alloc(vp8l.length % 2)]);
  return Buffer.concat([ascii("RIFF"), u32le(body.length), body]);
}

/** An ISO-BMFF file header (`ftyp` box with the given brands) followed by an empty `mdat`. */
export function isoBmffBytes(majorBrand: string, compatible: string[]): Buffer {
  const ftypBody = Buffer.concat([ascii(majorBrand), u32be(0), ...compatible.map(ascii)]);
  const ftyp = Buffer.concat([u32be(8 + ftypBody.length), ascii("ftyp"), ftypBody]);
  const mdat = Buffer.concat([u32be(8 + 64), ascii("mdat"), Buffer.alloc(64)]);
  return Buffer.concat([ftyp, mdat]);
}

export const heicBytes = () => isoBmffBytes("heic", ["mif1", "heic"]);
export const mp4Bytes = () => isoBmffBytes("isom", ["isom", "iso2", "avc1", "mp41"]);
export const quicktimeBytes = () => isoBmffBytes("qt  ", ["qt  "]);

/** A WebM (Matroska, DocType "webm") EBML header and an empty Segment. */
export function webmBytes(): Buffer {
  const element = (id: number[], data: Buffer) => Buffer.concat([Buffer.from(id), Buffer.from([0x80 | data.length]), data]);
  const header = Buffer.concat([
    element([0x42, 0x86], Buffer.from([1])), // EBMLVersion
    element([0x42, 0xf7], Buffer.from([1])), // EBMLReadVersion
    element([0x42, 0xf2], Buffer.from([4])), // EBMLMaxIDLength
    element([0x42, 0xf3], Buffer.from([8])), // EBMLMaxSizeLength
    element([0x42, 0x82], ascii("webm")), // DocType
    element([0x42, 0x87], Buffer.from([4])), // DocTypeVersion
    element([0x42, 0x85], Buffer.from([2])), // DocTypeReadVersion
  ]);
  return Buffer.concat([Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0x80 | header.length]), header, Buffer.from([0x18, 0x53, 0x80, 0x67, 0x80])]);
}

/** A one-page PDF. */
export function pdfBytes(): Buffer {
  return ascii(
    "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
      "3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n",
  );
}

/**
 * A PDF of exactly `size` bytes: pdfBytes() with comment lines of varied filler before its trailer
 * (a real header for sniffing, content that differs along its length for checksums).
 */
export function pdfOfSize(size: number): Buffer {
  const base = pdfBytes();
  const at = base.indexOf("trailer");
  const fill = size - base.length;
  if (fill < 2) throw new RangeError(`a PDF is at least ${base.length + 2} bytes`);
  const padding = Buffer.alloc(fill);
  for (let i = 0; i < fill; i++) {
    const column = i % 64;
    padding[i] = column === 0 ? 0x25 /* % */ : column === 63 ? 0x0a : 0x41 + ((Math.floor(i / 64) * 31 + column) % 26);
  }
  padding[fill - 1] = 0x0a;
  return Buffer.concat([base.subarray(0, at), padding, base.subarray(at)]);
}

/** A ZIP archive holding one stored file. */
export function zipBytes(): Buffer {
  const name = ascii("payload.txt");
  const data = ascii("not an image");
  const local = Buffer.concat([
    Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    u32le(0),
    u32le(data.length),
    u32le(data.length),
    Buffer.from([name.length, 0, 0, 0]),
    name,
    data,
  ]);
  return Buffer.concat([local, Buffer.from([0x50, 0x4b, 0x05, 0x06]), Buffer.alloc(18)]);
}

/** The start of a Windows PE executable (MZ stub pointing at a PE header). */
export function peExecutableBytes(): Buffer {
  const dos = Buffer.alloc(0x80);
  dos.write("MZ", 0, "latin1");
  dos.writeUInt32LE(0x80, 0x3c);
  const pe = Buffer.concat([ascii("PE\u0000\u0000"), Buffer.from([0x4c, 0x01, 0x01, 0x00]), Buffer.alloc(16)]);
  return Buffer.concat([dos, pe, Buffer.alloc(256)]);
}

export const htmlBytes = () => ascii("<!doctype html><html><body><script>alert(document.cookie)</script></body></html>");
export const svgBytes = () => ascii('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><circle r="4"/></svg>');

// Real photos, made with real tools at test time: ImageMagick draws, exiftool writes the metadata a
// phone writes, heif-enc (libheif, x265) encodes HEIC as iPhones do.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** ImageMagick itself (an earlier `convert` on PATH may be a stand-in). */
const IMAGEMAGICK = "/usr/bin/convert";

/** What a phone leaks: where, on which device, when. */
export const PHONE_METADATA = {
  latitude: 48.8584,
  longitude: 2.2945,
  serialNumber: "SN-FITKIT-0042",
  dateTimeOriginal: "2024:05:06 07:08:09",
} as const;

function inTempDir<T>(run: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "fitkit-media-"));
  try {
    return run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function writePhoneMetadata(file: string, extra: string[] = []): void {
  execFileSync("exiftool", [
    "-q",
    "-overwrite_original",
    `-GPSLatitude=${PHONE_METADATA.latitude}`,
    "-GPSLatitudeRef=N",
    `-GPSLongitude=${PHONE_METADATA.longitude}`,
    "-GPSLongitudeRef=E",
    `-SerialNumber=${PHONE_METADATA.serialNumber}`,
    `-DateTimeOriginal=${PHONE_METADATA.dateTimeOriginal}`,
    "-Make=FitPhone",
    "-Model=FitPhone 15",
    ...extra,
    file,
  ]);
}

/** A `width`×`height` picture with a gradient (so encoders have real work) drawn by ImageMagick. */
function drawn(dir: string, name: string, width: number, height: number): string {
  const file = join(dir, name);
  execFileSync(IMAGEMAGICK, [
    "-size",
    `${width}x${height}`,
    "gradient:#c03020-#2040c0",
    "-fill",
    "#f0d000",
    "-draw",
    `circle ${width / 4},${height / 4} ${width / 3},${height / 4}`,
    file,
  ]);
  return file;
}

/**
 * A JPEG as a phone stores a portrait photo: landscape pixels (`width`×`height`) with EXIF
 * orientation 6 (rotate 90° clockwise to display), GPS, the camera's serial number, time taken.
 */
export function phoneJpeg(width = 640, height = 480): Buffer {
  return inTempDir((dir) => {
    const file = drawn(dir, "photo.jpg", width, height);
    writePhoneMetadata(file, ["-Orientation=6", "-n"]);
    return readFileSync(file);
  });
}

/** An HEVC-coded HEIC (what iPhones write) with GPS and serial number in its EXIF. */
export function phoneHeic(width = 640, height = 480): Buffer {
  return inTempDir((dir) => {
    const source = drawn(dir, "photo.png", width, height);
    const file = join(dir, "photo.heic");
    execFileSync("heif-enc", ["-q", "60", source, "-o", file]);
    writePhoneMetadata(file);
    return readFileSync(file);
  });
}

/** A WebP with EXIF (GPS, serial number). */
export function exifWebp(width = 300, height = 200): Buffer {
  return inTempDir((dir) => {
    const file = drawn(dir, "photo.webp", width, height);
    writePhoneMetadata(file);
    return readFileSync(file);
  });
}

/** A PNG with a text comment and EXIF (GPS, serial number). */
export function commentedPng(width = 200, height = 150): Buffer {
  return inTempDir((dir) => {
    const file = drawn(dir, "photo.png", width, height);
    writePhoneMetadata(file, ["-m", "-Comment=taken at home"]);
    return readFileSync(file);
  });
}

/** A decompression bomb: a small, valid PNG header declaring `width`×`height` pixels (the data is one short row). */
export function pngBomb(width = 100_000, height = 100_000): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = 2;
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(Buffer.alloc(1 + width * 3))),
    chunk("IEND", new Uint8Array()),
  ]);
}

/** A real JPEG cut off halfway through its scan data. */
export function truncatedJpeg(): Buffer {
  const whole = phoneJpeg(320, 240);
  return whole.subarray(0, Math.floor(whole.length * 0.6));
}

/** A file that passes as HEIC by its magic bytes but holds no decodable image. */
export function undecodableHeic(): Buffer {
  const whole = phoneHeic(320, 240);
  // Keep the header boxes (ftyp, meta) and replace the coded image data with zeros.
  const corrupted = Buffer.from(whole);
  corrupted.fill(0, Math.floor(whole.length * 0.5));
  return corrupted;
}

// A HEIC decompression bomb, written box by box (ISO/IEC 23008-12) around two real x265 images made
// by heif-enc: a 1024² tile and a 64² picture. The grid's 144 tiles all point at the same few hundred
// coded bytes, so the file stays a few KB while decoding the grid costs 151 megapixels.

const box = (type: string, ...payload: Buffer[]): Buffer => Buffer.concat([u32be(8 + payload.reduce((n, p) => n + p.length, 0)), ascii(type), ...payload]);
const fullBox = (type: string, version: number, flags: number, ...payload: Buffer[]): Buffer =>
  box(type, Buffer.from([version, (flags >> 16) & 255, (flags >> 8) & 255, flags & 255]), ...payload);
const u16be = (n: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

/** The hvcC property and coded bytes of heif-enc's one-image file (its mdat holds exactly that image). */
function hevcImage(dir: string, name: string, size: number): { hvcC: Buffer; data: Buffer } {
  const png = join(dir, `${name}.png`);
  execFileSync(IMAGEMAGICK, ["-size", `${size}x${size}`, "gradient:#808080-#707070", png]);
  const heic = join(dir, `${name}.heic`);
  execFileSync("heif-enc", ["-q", "10", png, "-o", heic]);
  const file = readFileSync(heic);
  const at = file.indexOf("hvcC") - 4;
  const hvcC = file.subarray(at, at + file.readUInt32BE(at));
  const mdat = file.indexOf("mdat") - 4;
  return { hvcC, data: file.subarray(mdat + 8, mdat + file.readUInt32BE(mdat)) };
}

/**
 * A HEIC whose first item is a `rows`×`columns` grid of 1024² tiles (all sharing one coded tile),
 * followed by a 64×64 image. `primary: "small"` marks the small image primary (what a decoder of
 * the primary reads — libvips' header check passed it — while decoders of every top-level image
 * decode the grid too); `primary: "grid"` makes the grid itself the primary.
 */
export function heicGridBomb(options: { rows?: number; columns?: number; primary?: "small" | "grid" } = {}): Buffer {
  const { rows = 12, columns = 12, primary = "small" } = options;
  return inTempDir((dir) => {
    const tile = hevcImage(dir, "tile", 1024);
    const small = hevcImage(dir, "small", 64);
    const tiles = rows * columns;
    const gridId = 1;
    const tileIds = Array.from({ length: tiles }, (_, i) => 2 + i);
    const smallId = 2 + tiles;
    const ispe = (w: number, h: number) => fullBox("ispe", 0, 0, u32be(w), u32be(h));
    const infe = (id: number, type: string, hidden: boolean) => fullBox("infe", 2, hidden ? 1 : 0, u16be(id), u16be(0), ascii(type), Buffer.from([0]));
    const gridData = Buffer.concat([Buffer.from([0, 1, rows - 1, columns - 1]), u32be(columns * 1024), u32be(rows * 1024)]);
    const meta = (tileOffset: number, smallOffset: number) =>
      fullBox(
        "meta",
        0,
        0,
        fullBox("hdlr", 0, 0, u32be(0), ascii("pict"), Buffer.alloc(12), Buffer.from([0])),
        fullBox("pitm", 0, 0, u16be(primary === "grid" ? gridId : smallId)),
        fullBox("iinf", 0, 0, u16be(tiles + 2), infe(gridId, "grid", false), ...tileIds.map((id) => infe(id, "hvc1", true)), infe(smallId, "hvc1", false)),
        fullBox("iref", 0, 0, box("dimg", u16be(gridId), u16be(tiles), ...tileIds.map(u16be))),
        box(
          "iprp",
          box("ipco", tile.hvcC, ispe(1024, 1024), small.hvcC, ispe(64, 64), ispe(columns * 1024, rows * 1024)),
          fullBox(
            "ipma",
            0,
            0,
            u32be(tiles + 2),
            Buffer.concat([u16be(gridId), Buffer.from([1, 5])]),
            ...tileIds.map((id) => Buffer.concat([u16be(id), Buffer.from([2, 0x81, 2])])),
            Buffer.concat([u16be(smallId), Buffer.from([2, 0x83, 4])]),
          ),
        ),
        // iloc v1, offsets and lengths of 4 bytes: the grid's description in idat (method 1), coded images in mdat.
        fullBox(
          "iloc",
          1,
          0,
          u16be(0x4400),
          u16be(tiles + 2),
          Buffer.concat([u16be(gridId), u16be(1), u16be(0), u16be(1), u32be(0), u32be(gridData.length)]),
          ...tileIds.map((id) => Buffer.concat([u16be(id), u16be(0), u16be(0), u16be(1), u32be(tileOffset), u32be(tile.data.length)])),
          Buffer.concat([u16be(smallId), u16be(0), u16be(0), u16be(1), u32be(smallOffset), u32be(small.data.length)]),
        ),
        box("idat", gridData),
      );
    const ftyp = box("ftyp", ascii("heic"), u32be(0), ascii("mif1"), ascii("heic"));
    const dataStart = ftyp.length + meta(0, 0).length + 8;
    return Buffer.concat([ftyp, meta(dataStart, dataStart + tile.data.length), box("mdat", tile.data, small.data)]);
  });
}

/** A JPEG stored in CMYK (as print workflows write), by ImageMagick. */
export function cmykJpeg(width = 400, height = 300): Buffer {
  return inTempDir((dir) => {
    const file = join(dir, "cmyk.jpg");
    execFileSync(IMAGEMAGICK, [drawn(dir, "photo.png", width, height), "-colorspace", "CMYK", file]);
    return readFileSync(file);
  });
}

/** A JPEG in Display P3 (as iPhones write): ImageMagick's picture with libvips' built-in P3 profile attached. */
export async function displayP3Jpeg(width = 400, height = 300): Promise<Buffer> {
  const { default: sharp } = await import("sharp");
  const png = inTempDir((dir) => readFileSync(drawn(dir, "photo.png", width, height)));
  return sharp(png).jpeg({ quality: 90 }).withIccProfile("p3").toBuffer();
}
