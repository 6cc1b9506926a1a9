/** The image's two roles, chosen by the Lambda's image command (stacks/scanner.ts sets it). Plain data. */
export const SCANNER_ROLES = { scan: "scan", updateDefinitions: "update-definitions" } as const;
export type ScannerRole = (typeof SCANNER_ROLES)[keyof typeof SCANNER_ROLES];
