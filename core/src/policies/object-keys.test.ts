/** Object keys made and parsed only from the policy table: names of Object.prototype members are unknown names. */
import { describe, expect, it } from "vitest";
import { incomingComplianceKey, mediaKey, parseObjectKey } from "./object-keys.js";

const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

describe("object keys and names of Object.prototype members", () => {
  it("parses a key this module made", () => {
    expect(parseObjectKey("org_a/progress_photo/user_a/abc.png")).toEqual({
      bucket: "media",
      orgId: "org_a",
      ownerType: "progress_photo",
      userId: "user_a",
      uploadId: "abc",
      contentType: "image/png",
    });
  });

  it.each(PROTOTYPE_NAMES)("does not parse keys whose extension or owner type is %s", (name) => {
    expect(parseObjectKey(`org_a/progress_photo/user_a/abc.${name}`)).toBeNull();
    expect(parseObjectKey(`incoming/org_a/abc.${name}`)).toBeNull();
    expect(parseObjectKey(`records/org_a/abc.${name}`)).toBeNull();
    expect(parseObjectKey(`org_a/${name}/user_a/abc.png`)).toBeNull();
  });

  it.each(PROTOTYPE_NAMES)("makes no key for the content type %s", (name) => {
    expect(() => mediaKey({ orgId: "org_a", ownerType: "progress_photo", userId: "user_a", uploadId: "abc", contentType: name })).toThrow(TypeError);
    expect(() => incomingComplianceKey({ orgId: "org_a", uploadId: "abc", contentType: name })).toThrow(TypeError);
  });
});
