/**
 * The linked-objects port: which stored objects are linked to a parent record (consume links them,
 * in its own atomic step) and with how many bytes, so release and reconciliation count each
 * object once. Every method is one atomic step.
 */
export interface ObjectRef {
  bucket: string;
  key: string;
}

export interface LinkedObject {
  orgId: string;
  size: number;
  /** The processed copies of a linked image (docs/ARCHITECTURE.md, "Media processing"), when recorded. */
  variantKeys?: string[];
}

export interface LinkedObjects {
  /** Which of these objects are linked to a parent (consumed), with their linked size; null when not. */
  linkedObjects(objects: ObjectRef[]): Promise<(LinkedObject | null)[]>;
  /**
   * Unlinks objects of `orgId` and subtracts their bytes (and their recorded variants' bytes) from
   * its `used` — each linked object once, however often released.
   */
  unlinkObjects(orgId: string, objects: ObjectRef[]): Promise<{ released: number; bytes: number }>;
}
