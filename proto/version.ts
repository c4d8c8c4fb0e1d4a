// virtnode's version and the protocol versions it speaks: one constant each for the
// handler, the launcher and the CLI (package.json says the same version;
// test/unit/launch-contract.test.ts holds them together). No imports, so the CLI can
// read these without loading gRPC.

export const VERSION = '0.1.0';

/** Protocol versions this build speaks, oldest first. */
export const PROTOCOL_VERSIONS: readonly number[] = [1];

/** The metadata header every call but Info.Negotiate carries, with the version agreed. */
export const PROTOCOL_HEADER = 'virtnode-protocol';

/** The highest version both sides list, or undefined when they share none. */
export function pickVersion(ours: readonly number[], theirs: readonly number[]): number | undefined {
  const common = theirs.filter((v) => ours.includes(v));
  return common.length ? Math.max(...common) : undefined;
}
