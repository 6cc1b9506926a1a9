import { describe, expect, it } from "vitest";
import { parseClamdAddress } from "../links.js";

describe("parseClamdAddress", () => {
  it("reads host:port, a bare host (port 3310) and a bracketed IPv6 address", () => {
    expect(parseClamdAddress("clamd.internal:3311")).toEqual({ host: "clamd.internal", port: 3311 });
    expect(parseClamdAddress("10.0.0.5")).toEqual({ host: "10.0.0.5", port: 3310 });
    expect(parseClamdAddress("[fd00::5]:3310")).toEqual({ host: "fd00::5", port: 3310 });
  });

  it("reads an empty address as scanning off", () => {
    expect(parseClamdAddress("")).toEqual({ host: "", port: 0 });
    expect(parseClamdAddress("  ")).toEqual({ host: "", port: 0 });
  });

  it("rejects anything else at deploy time", () => {
    expect(() => parseClamdAddress("tcp://clamd:3310")).toThrow(/ClamdAddress must be "host:port"/);
    expect(() => parseClamdAddress("clamd:70000")).toThrow(/ClamdAddress/);
  });
});
