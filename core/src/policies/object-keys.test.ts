/** Object keys made and parsed only from the policy table: names of Object.prototype members are unknown names. */
import { describe, expect, it } from "vitest";
import { announcedMediaKey, incomingComplianceKey, linkedKeyFor, mediaKey, parseObjectKey, parseStagedMediaKey, stagedMediaKey } from "./object-keys.js";

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

describe("staged media keys", () => {
  const photo = { orgId: "org_1", ownerType: "progress_photo" as const, userId: "user_1", uploadId: "u1", contentType: "image/png" };

  it("stage a media upload under staging/ and link it at the same key without the prefix", () => {
    const staged = stagedMediaKey(photo);

    expect(staged).toBe("staging/org_1/progress_photo/user_1/u1.png");
    expect(linkedKeyFor(staged)).toBe(mediaKey(photo));
    expect(announcedMediaKey(staged)).toBe(mediaKey(photo));
    // A record made before staging/ existed already holds its linked key.
    expect(announcedMediaKey(mediaKey(photo))).toBe(mediaKey(photo));
  });

  it("parse only as staged keys: readers never name them, and look-alikes are refused", () => {
    expect(parseStagedMediaKey("staging/org_1/progress_photo/user_1/u1.png")).toEqual({ bucket: "media", ...photo });
    expect(parseObjectKey("staging/org_1/progress_photo/user_1/u1.png")).toBeNull();
    expect(parseStagedMediaKey("org_1/progress_photo/user_1/u1.png")).toBeNull();
    expect(parseStagedMediaKey("staging/incoming/org_1/u1.png")).toBeNull();
    expect(parseStagedMediaKey("staging/org_1/form_signature/user_1/u1.png")).toBeNull();
    expect(() => linkedKeyFor("org_1/progress_photo/user_1/u1.png")).toThrow(TypeError);
  });
});
