/** Cutting a JPEG's metadata out, on hand-built marker sequences: what is kept, in what order, byte for byte. */
import { describe, expect, it } from "vitest";
import { JpegStructureError, orientationExif, stripJpegMetadata } from "./jpeg-metadata.js";

const segment = (marker: number, payload: string | Buffer) => {
  const body = typeof payload === "string" ? Buffer.from(payload, "latin1") : payload;
  return Buffer.concat([Buffer.from([0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 255]), body]);
};
const SOI = Buffer.from([0xff, 0xd8]);
const EOI = Buffer.from([0xff, 0xd9]);
const jfif = segment(0xe0, "JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
const exif = segment(0xe1, "Exif\0\0II*\0GPS 48.8584 2.2945 SN-0042");
const xmp = segment(0xe1, "http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>");
const icc = segment(0xe2, "ICC_PROFILE\0\x01\x01profile-bytes");
const iptc = segment(0xed, "Photoshop 3.0\0IPTC caption");
const adobe = segment(0xee, "Adobe\0\x64\0\0\0\0\x01");
const comment = segment(0xfe, "taken at home");
const tables = Buffer.concat([segment(0xdb, "\0quant-table"), segment(0xc0, "\x08\0\x10\0\x10\x03frame"), segment(0xc4, "\0huffman")]);
// Entropy-coded data with a stuffed 0xFF00 and a restart marker inside: both belong to the scan.
const scan = Buffer.concat([segment(0xda, "\x03scan-header"), Buffer.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56])]);
const trailer = Buffer.from("appended depth map with its own Exif GPS", "latin1");

describe("stripJpegMetadata", () => {
  it("keeps SOI, JFIF, Adobe, tables, frame and scans byte for byte and drops EXIF, XMP, ICC, IPTC, comments and what follows EOI", () => {
    const input = Buffer.concat([SOI, jfif, exif, xmp, icc, iptc, adobe, comment, tables, scan, EOI, trailer]);

    expect(stripJpegMetadata(input)).toEqual(Buffer.concat([SOI, jfif, adobe, tables, scan, EOI]));
  });

  it("writes an EXIF of the Orientation tag alone right after JFIF when asked, and can keep the ICC profile", () => {
    const input = Buffer.concat([SOI, jfif, exif, icc, tables, scan, EOI]);

    expect(stripJpegMetadata(input, { orientation: 6, keepIccProfile: true })).toEqual(
      Buffer.concat([SOI, jfif, segment(0xe1, orientationExif(6)), icc, tables, scan, EOI]),
    );
    expect(orientationExif(6).subarray(0, 6).toString("latin1")).toBe("Exif\0\0");
  });

  it("keeps the scans of a progressive JPEG, with the tables between them", () => {
    const second = Buffer.concat([segment(0xc4, "\x10huffman-2"), segment(0xda, "\x01scan-2"), Buffer.from([0x9a, 0xff, 0x00])]);
    const input = Buffer.concat([SOI, tables, scan, comment, second, EOI]);

    expect(stripJpegMetadata(input)).toEqual(Buffer.concat([SOI, tables, scan, second, EOI]));
  });

  it.each([
    ["not a JPEG", Buffer.from("GIF89a")],
    ["cut in its scan (no EOI)", Buffer.concat([SOI, tables, scan])],
    ["cut in a segment", Buffer.concat([SOI, tables.subarray(0, 9)])],
  ])("%s is JpegStructureError", (_name, input) => {
    expect(() => stripJpegMetadata(input)).toThrow(JpegStructureError);
  });
});
