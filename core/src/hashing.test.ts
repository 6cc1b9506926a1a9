import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { constantTimeEqual, sha256Hex } from "./hashing.js";

describe("sha256Hex", () => {
  it.each([[[""]], [["media", "org_1/progress_photo/user_1/0123.jpg"]], [["ünïcödé", "😀", "a\u0000b"]], [["x".repeat(100_000)]]])(
    "is the SHA-256 (hex) of the parts joined by NUL, as a Hash object computes it: %#",
    (parts) => {
      expect(sha256Hex(...parts)).toBe(createHash("sha256").update(parts.join("\u0000"), "utf8").digest("hex"));
    },
  );

  it("keeps the parts apart: (a, bc) and (ab, c) differ", () => {
    expect(sha256Hex("a", "bc")).not.toBe(sha256Hex("ab", "c"));
  });
});

describe("constantTimeEqual", () => {
  it("is true only for equal strings, whatever their lengths", () => {
    expect(constantTimeEqual("token", "token")).toBe(true);
    expect(constantTimeEqual("token", "tokem")).toBe(false);
    expect(constantTimeEqual("token", "token2")).toBe(false);
  });
});
