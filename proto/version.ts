// virtnode's version, one constant for the handler, the launcher and the CLI
// (package.json says the same; test/unit/version.test.ts holds them together).
export const VERSION = '0.1.0';
